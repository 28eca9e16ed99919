// Entry of `npm run test:e2e`: the end-to-end suite against the production
// build, as a user would get it from `npm start`. It builds when sources
// changed, gives the product a fresh database, starts it (web + worker) on a
// free port, runs Playwright against it, then stops it with SIGTERM and fails
// the run if it does not exit within 15 s (graceful shutdown is a requirement).
//
//   npm run test:e2e                       # everything
//   npm run test:e2e -- e2e/live.spec.ts   # extra arguments go to `playwright test`
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureProductionBuild } from "../server/build.ts";
import { createTestDatabase, type TestDatabase } from "../server/db/test-database.ts";
import { freePort } from "@/server/ports.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = path.join(root, "test-results");
const serverLogFile = path.join(resultsDir, "e2e-server.log");
const READY_TIMEOUT_MS = 120_000;
const SHUTDOWN_TIMEOUT_MS = 15_000;
// Fixed so a failed run's traces can be replayed against a server started by hand.
const NEXTAUTH_SECRET = "fleetwave-e2e-secret-not-for-production-0123456789";

function log(message: string) {
  console.log(`[e2e] ${message}`);
}


function logTail(lines = 80): string {
  try {
    return readFileSync(serverLogFile, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server log)";
  }
}

function printServerLog(reason: string) {
  console.error(`\n[e2e] ${reason}. Last lines of ${path.relative(root, serverLogFile)}:\n${logTail()}\n`);
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

function startServer(env: NodeJS.ProcessEnv): ChildProcess {
  mkdirSync(resultsDir, { recursive: true });
  const out = createWriteStream(serverLogFile);
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  // Two writers share the file: it is closed once both pipes have closed, never before (a late write would throw).
  let open = 2;
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(out, { end: false });
    stream.once("close", () => --open === 0 && out.end());
  }
  return child;
}

async function waitUntilReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    try {
      const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
      if (response.status === 200) return;
      lastError = `HTTP ${response.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`GET ${url} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${lastError})`);
}

/** SIGTERM, then the process must be gone within the limit; a SIGKILL afterwards only cleans up. */
async function stopServer(child: ChildProcess): Promise<{ graceful: boolean; detail: string }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { graceful: false, detail: `the server had already exited (code ${child.exitCode}, signal ${child.signalCode})` };
  }
  const started = Date.now();
  child.kill("SIGTERM");
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), SHUTDOWN_TIMEOUT_MS).unref());
  const result = await Promise.race([exited(child), timeout]);
  if (result === "timeout") {
    child.kill("SIGKILL");
    await exited(child);
    return { graceful: false, detail: `the server did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM` };
  }
  const ms = Date.now() - started;
  if (result.code !== 0) return { graceful: false, detail: `the server exited with code ${result.code} (signal ${result.signal}) after SIGTERM` };
  return { graceful: true, detail: `the server stopped ${ms} ms after SIGTERM` };
}

function runPlaywright(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cli = path.join(root, "node_modules", "@playwright", "test", "cli.js");
  const child = spawn(process.execPath, [cli, "test", ...args], { cwd: root, env, stdio: "inherit" });
  return exited(child).then(({ code }) => code ?? 1);
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  await ensureProductionBuild(root);

  let database: TestDatabase | undefined;
  let server: ChildProcess | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fleetwave-e2e-"));
  const cleanUp = async () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
    await database?.drop().catch((err: Error) => console.error(`[e2e] dropping ${database?.name} failed: ${err.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  };
  // Ctrl-C during a run: leave no server and no database behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  }

  try {
    database = await createTestDatabase();
    log(`database ${database.name}`);
    const port = await freePort();
    const baseUrl = `http://localhost:${port}`;
    // Tests run simulated devices in their own process: they need the broker the
    // product uses, and the firmware links the worker signs must point at this server.
    const embeddedBrokerPort = process.env.MQTT_URL ? undefined : await freePort();
    const mqttUrl = process.env.MQTT_URL ?? `mqtt://127.0.0.1:${embeddedBrokerPort}`;
    const serverEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: String(port),
      NEXTAUTH_SECRET,
      NEXTAUTH_URL: baseUrl,
      FLEETWAVE_DATA_DIR: dataDir,
      FLEETWAVE_SKIP_BUILD: "1",
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      // On a shared broker, a fixed id and a short session keep test runs from
      // leaving long-lived members in the ingest group.
      WORKER_ID: "e2e",
      INGEST_SESSION_EXPIRY_SEC: "60",
      NEXT_TELEMETRY_DISABLED: "1",
      NODE_ENV: "production",
    };
    // Unset MQTT_URL means main.ts starts its embedded broker: that path gets tested too.
    if (embeddedBrokerPort !== undefined) {
      delete serverEnv.MQTT_URL;
      serverEnv.MQTT_EMBEDDED_PORT = String(embeddedBrokerPort);
    }
    delete serverEnv.AUTH_SECRET;

    server = startServer(serverEnv);
    let stopping = false;
    server.once("exit", (code, signal) => {
      // Anything else that ends the server mid-run shows up as connection errors in many tests; say why once.
      if (!stopping) console.error(`\n[e2e] the server exited during the run (code ${code}, signal ${signal}); see ${path.relative(root, serverLogFile)}\n`);
    });
    log(`starting the product on ${baseUrl} (log: ${path.relative(root, serverLogFile)}, MQTT ${embeddedBrokerPort === undefined ? mqttUrl : `embedded on ${mqttUrl}`})`);
    try {
      await waitUntilReady(server, `http://127.0.0.1:${port}/signin`);
    } catch (err) {
      printServerLog((err as Error).message);
      return 1;
    }
    log(`ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

    const exitCode = await runPlaywright(process.argv.slice(2), {
      ...process.env,
      BASE_URL: baseUrl,
      E2E_DATABASE_URL: database.url,
      E2E_MQTT_URL: mqttUrl,
    });
    if (exitCode !== 0) printServerLog(`Playwright exited with ${exitCode}`);

    stopping = true;
    const stop = await stopServer(server);
    log(stop.detail);
    if (!stop.graceful) printServerLog("graceful shutdown failed");
    log(`done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    return exitCode !== 0 ? exitCode : stop.graceful ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error("[e2e] failed:", err);
    process.exit(1);
  },
);
