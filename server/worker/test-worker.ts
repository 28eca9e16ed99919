// Test helper: the worker as a real child process, exactly as `npm run
// start:worker` runs it (`node --import tsx server/main.ts --worker`), so
// tests can kill -9 it and start it again. One process, no npm/sh wrapper in
// between: a signal reaches the worker itself.
//
//   const worker = startTestWorker({ databaseUrl, mqttUrl, mqttUsername, mqttPassword, workerId: "w1" });
//   await worker.waitForLog(/\[ingest\] connected/);
//   await worker.kill("SIGKILL");
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type TestWorkerOptions = {
  databaseUrl: string;
  /** The broker's platform listener. */
  mqttUrl: string;
  mqttUsername: string;
  mqttPassword: string;
  /** Stable per worker: the same id resumes the same broker session after a restart. */
  workerId: string;
  /** 5 (default) for Mosquitto. */
  mqttProtocolVersion?: 4 | 5;
  /** Extra environment (e.g. INGEST_BATCH_SIZE). */
  env?: Record<string, string>;
  /** FLEETWAVE_DATA_DIR; a temp dir (removed when the process is gone) unless given. */
  dataDir?: string;
  /** Copy the child's output to this process's stderr as it comes (debugging; also TEST_WORKER_ECHO=1). */
  echo?: boolean;
};

export type TestWorker = {
  readonly workerId: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** stdout and stderr so far, interleaved as received. */
  output(): string;
  readonly running: boolean;
  /** Resolves with the first match in the output (past or future); rejects on timeout or exit. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends the signal and waits for the process to be gone. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful shutdown), then SIGKILL if it is still there after graceMs. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const live = new Map<ChildProcess, string | null>(); // → its own temp data dir
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave a worker (or its temp dir) behind when the test process goes away without cleaning up.
  process.once("exit", () => {
    for (const [child, dir] of live) {
      child.kill("SIGKILL");
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

export function startTestWorker(options: TestWorkerOptions): TestWorker {
  installExitHook();
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `fleetwave-test-worker-${options.workerId}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    MQTT_URL: options.mqttUrl,
    MQTT_USERNAME: options.mqttUsername,
    MQTT_PASSWORD: options.mqttPassword,
    MQTT_PROTOCOL_VERSION: String(options.mqttProtocolVersion ?? 5),
    WORKER_ID: options.workerId,
    FLEETWAVE_DATA_DIR: dataDir,
    ...options.env,
  };
  // Settings of the surrounding environment that would change what the worker does.
  for (const name of ["MQTT_TOPIC_PREFIX", "NODE_OPTIONS", "VITEST", "VITEST_MODE", "VITEST_POOL_ID", "VITEST_WORKER_ID"]) {
    if (!(options.env && name in options.env)) delete env[name];
  }
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts", "--worker"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  live.set(child, ownDataDir ? dataDir : null);
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (options.echo ?? process.env.TEST_WORKER_ECHO === "1") process.stderr.write(text.replace(/^(?=.)/gm, `[${options.workerId}] `));
    for (const l of [...listeners]) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      for (const l of [...listeners]) l();
      resolve({ code, signal });
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (running()) child.kill(signal);
    return exited;
  };

  return {
    workerId: options.workerId,
    pid: child.pid!,
    process: child,
    output: () => output,
    get running() {
      return running();
    },
    exited,
    waitForLog(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) return done(() => resolve(match));
          if (!running()) return done(() => reject(new Error(`worker ${options.workerId} exited (${child.exitCode ?? child.signalCode}) before logging ${pattern}:\n${output}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`worker ${options.workerId} did not log ${pattern} within ${timeoutMs} ms:\n${output}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    kill,
    async stop(graceMs = 10_000) {
      if (!running()) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => running() && child.kill("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * Waits until a worker answers this device: the ingest subscribes only after
 * CONNACK, and a message published before its (shared) subscription exists
 * reaches nobody. Each probe is a `shadow/get` (read-only; one event row).
 */
export async function waitUntilIngesting(
  device: { publish(suffix: string, body: unknown): Promise<void>; waitFor(match: (m: { suffix: string; body: any }) => boolean, opts?: { timeoutMs?: number }): Promise<unknown> },
  timeoutMs = 60_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let probe = 1; ; probe++) {
    const token = `ready-${probe}`;
    await device.publish("shadow/get", { clientToken: token });
    if (await device.waitFor((m) => m.suffix === "shadow/get/accepted" && m.body?.clientToken === token, { timeoutMs: 500 })) return probe;
    if (Date.now() > deadline) throw new Error(`no worker answered shadow/get within ${timeoutMs} ms`);
  }
}
