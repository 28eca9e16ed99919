// Process plumbing for the benchmark: cleanup on every exit path, free ports,
// and what /proc says about CPU time and memory of the processes involved.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";

type Cleanup = { name: string; run: () => Promise<void> | void };
const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | null = null;

/** Registers an undo step; steps run in reverse order of registration. */
export function onCleanup(name: string, run: Cleanup["run"]): void {
  cleanups.push({ name, run });
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const { name, run } of cleanups.splice(0).reverse()) {
      try {
        await Promise.race([
          Promise.resolve().then(run),
          new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 20 s")), 20_000).unref()),
        ]);
      } catch (err) {
        console.error(`[bench] cleanup "${name}" failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** SIGINT/SIGTERM and crashes: undo everything before exiting. */
export function installExitHandlers(): void {
  const bail = (code: number, why: string, err?: unknown) => {
    if (err) console.error(`[bench] ${why}:`, err);
    else console.error(`[bench] ${why}: cleaning up`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => bail(130, "SIGINT"));
  process.once("SIGTERM", () => bail(143, "SIGTERM"));
  process.on("uncaughtException", (err) => bail(1, "uncaught exception", err));
  process.on("unhandledRejection", (err) => bail(1, "unhandled rejection", err));
}



/** Runs a bench's main, cleans up whatever it started, and exits 0, or 1 with the error. */
export function runBench(main: () => Promise<void>): void {
  main()
    .then(async () => {
      await cleanupAll();
      process.exit(0);
    })
    .catch(async (err: Error) => {
      console.error(`[bench] failed: ${err.stack ?? err.message}`);
      await cleanupAll();
      process.exit(1);
    });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let clkTck = 0;
function ticksPerSec(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** User + system CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSec();
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / ticksPerSec(), total: total / ticksPerSec() };
}

/** VmRSS in MiB, or null when the process is gone. */
export function rssMb(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

export function machineInfo() {
  const cpus = os.cpus();
  return { cpuModel: cpus[0]?.model.trim() ?? "unknown", cores: cpus.length, node: process.version, loadAvg: os.loadavg() };
}

/** Idle cores of the machine averaged over `sampleMs`. */
export async function idleCores(sampleMs = 3000): Promise<number> {
  const a = machineCpu();
  await sleep(sampleMs);
  const b = machineCpu();
  return (b.total - b.busy - (a.total - a.busy)) / (sampleMs / 1000);
}

/** Waits (up to maxSec) until at least `wanted` cores are idle: other work on a shared machine skews every number. */
export async function waitForIdle(maxSec: number, wanted: number, log: (msg: string) => void): Promise<{ waitedSec: number; idleCores: number }> {
  const t0 = Date.now();
  for (;;) {
    const idle = await idleCores();
    const waited = (Date.now() - t0) / 1000;
    if (idle >= wanted || waited >= maxSec) return { waitedSec: Math.round(waited), idleCores: Math.round(idle * 100) / 100 };
    log(`    waiting for a quieter machine: ${idle.toFixed(2)} of ${os.cpus().length} cores idle (want ${wanted}), ${Math.round(waited)} s so far`);
  }
}
