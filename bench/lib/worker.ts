// The real worker as a child process (`node --import tsx server/main.ts
// --worker`), its memory sampled from /proc, and (unless --no-probe) the
// profiler preloaded into it (worker-probe.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { onCleanup, rssMb, sleep } from "./proc.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PROBE = path.join(ROOT, "bench/lib/worker-probe.ts");

export type RssSample = { t: number; phase: string; mb: number };

export type WorkerOptions = {
  databaseUrl: string;
  mqttUrl: string;
  username: string;
  password: string;
  probe: boolean;
  /** Extra env (the tunable knobs). */
  env: Record<string, string>;
  /** Run the worker with --cpu-prof, writing its profile here at exit. */
  cpuProfDir?: string;
};

export type WorkerHandle = {
  pid: number;
  argv: string[];
  samples: RssSample[];
  setPhase(phase: string): void;
  probe(reset?: boolean): Promise<ProbeSnapshot | null>;
  log(): string;
  stop(): Promise<number | null>;
};

export type ProbeSnapshot = {
  wallMs: number;
  eventLoopUtilization: number;
  cpuSec: { user: number; system: number };
  commits: number;
  rollbacks: number;
  standaloneQueries: number;
  queries: Record<string, { n: number; totalMs: number; meanMs: number; maxMs: number }>;
  txMs: Record<string, number>;
  batchSize: Record<string, number>;
  batchCycleMs: Record<string, number>;
  gapBetweenBatchesMs: Record<string, number>;
  heapUsedMb: number;
  slowStatements: Array<{ at: number; category: string; ms: number }>;
};

export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-bench-worker-"));
  onCleanup("worker temp dir", () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const argv = [
    ...(o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : []),
    // As `npm run start:worker` runs it (package.json): a larger young generation, far less GC.
    "--max-semi-space-size=64", "--import", "tsx", ...(o.probe ? ["--import", PROBE] : []), "server/main.ts", "--worker",
  ];
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe", ...(o.probe ? (["ipc"] as const) : [])],
    env: {
      ...process.env,
      DATABASE_URL: o.databaseUrl,
      MQTT_URL: o.mqttUrl,
      MQTT_USERNAME: o.username,
      MQTT_PASSWORD: o.password,
      MQTT_PROTOCOL_VERSION: "5",
      WORKER_ID: `bench-${randomBytes(4).toString("hex")}`,
      // Keeps the worker's secrets out of the checkout's .data folder.
      FLEETWAVE_DATA_DIR: dataDir,
      NEXTAUTH_SECRET: randomBytes(24).toString("hex"),
      ...o.env,
    },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stopped = false;
  const stop = async (): Promise<number | null> => {
    if (stopped) return child.exitCode;
    stopped = true;
    clearInterval(sampler);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(forced);
      return code;
    }
    return child.exitCode;
  };
  onCleanup("worker process", async () => {
    await stop();
  });

  const samples: RssSample[] = [];
  let phase = "start";
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const mb = rssMb(child.pid!);
    if (mb !== null) samples.push({ t: (Date.now() - t0) / 1000, phase, mb });
  }, 1000);
  sampler.unref();

  let nextId = 1;
  const waiting = new Map<number, (s: ProbeSnapshot) => void>();
  child.on("message", (msg: { type?: string; id?: number; data?: ProbeSnapshot }) => {
    if (msg?.type === "bench-probe" && msg.id !== undefined) waiting.get(msg.id)?.(msg.data!);
  });

  // Ready once the consumer is connected (it subscribes right after its CONNACK).
  for (const deadline = Date.now() + 90_000; !/\[ingest\] connected/.test(output); await sleep(50)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the worker did not start (exit ${child.exitCode}):\n${output}`);
    }
  }
  await sleep(500);

  return {
    pid: child.pid!,
    argv: [process.execPath, ...argv],
    samples,
    setPhase: (p) => (phase = p),
    log: () => output,
    stop,
    async probe(reset = false) {
      if (!o.probe || !child.connected) return null;
      const id = nextId++;
      return Promise.race([
        new Promise<ProbeSnapshot>((resolve) => {
          waiting.set(id, resolve);
          child.send({ type: "bench-probe", id, reset });
        }),
        sleep(5000).then(() => null),
      ]).finally(() => waiting.delete(id));
    },
  };
}
