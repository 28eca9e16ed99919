// `npm run bench:ingest`: the ingest benchmark, in one command on this machine.
//
//   (a) raw MQTT QoS 1 pass-through (P publishers → broker → 1 MQTT.js subscriber)
//   (b) a naive pipeline (MQTT.js customHandleAcks, one Prisma transaction per message)
//   (c) the real worker (`node --import tsx server/main.ts --worker`): accepted updates/s
//   (d) publish → accepted latency at a fixed rate (default 2,000 updates/s for 20 s)
//   (e) the worker's RSS during (c) and (d) (`--soak MIN` runs (d) for MIN minutes)
//   (f) database transactions per 1,000 reconnects (every device sends sync/request at once)
//
// Everything runs against a private Mosquitto (the shipped config, free ports)
// and fresh databases on the machine's PostgreSQL; all of it is removed at the
// end, also on failure or Ctrl-C. The load comes from a few gateway-style
// connections on the platform listener, each carrying many devices (the
// device listener allows one device per connection). Results: the printed
// table and bench/results/ingest.json. See bench/README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CpuMeter, type CpuSplit } from "./lib/cpu.ts";
import { AGED_VERSION, ageShadows, createBenchDatabase, deviceIds, PgStats } from "./lib/database.ts";
import { Fleet, passThrough, type RunResult } from "./lib/fleet.ts";
import { startMosquitto } from "./lib/mosquitto.ts";
import { startNaiveConsumer } from "./lib/naive.ts";
import { idleCores, installExitHandlers, machineInfo, onCleanup, runBench, sleep, waitForIdle } from "./lib/proc.ts";
import { latencyWindows, max, percentile, round, rssSummary, steadyRate, table } from "./lib/stats.ts";
import { startWorker, type ProbeSnapshot } from "./lib/worker.ts";
import { summariseProfile, type ProfileSummary } from "./lib/cpuprofile.ts";
import { gitState } from "./lib/git-state.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  options: {
    devices: { type: "string", default: "5000" },
    messages: { type: "string", default: "30000" },
    "naive-messages": { type: "string", default: "3000" },
    publishers: { type: "string", default: "4" },
    "pass-through-runs": { type: "string", default: "3" },
    rate: { type: "string", default: "2000" },
    "latency-seconds": { type: "string", default: "20" },
    soak: { type: "string", default: "0" },
    "worker-env": { type: "string", multiple: true, default: [] },
    "no-probe": { type: "boolean", default: false },
    "wait-idle": { type: "string", default: "0" },
    "cpu-prof": { type: "boolean", default: false },
    "cpu-prof-dir": { type: "string" },
    "fresh-shadows": { type: "boolean", default: false },
    "experiment-fast-pg-arrays": { type: "boolean", default: false },
    out: { type: "string", default: path.join(HERE, "results/ingest.json") },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log(`npm run bench:ingest -- [options]
  --devices N           devices registered and simulated (default 5000)
  --messages N          updates for the pass-through and the real worker (default 30000)
  --naive-messages N    updates for the naive pipeline (default 3000; it is slow)
  --publishers P        gateway connections carrying the devices (default 4)
  --pass-through-runs K (a) runs K times and keeps the fastest as the broker's limit (default 3)
  --rate R              updates/s of the latency run (default 2000)
  --latency-seconds S   length of the latency run (default 20)
  --soak MIN            run the latency phase for MIN minutes instead (memory-flat check)
  --worker-env K=V      extra environment for the worker (repeatable), e.g. INGEST_BATCH_SIZE=2000
  --no-probe            run the worker without the query profiler preloaded
  --wait-idle SEC       first wait up to SEC seconds for 1.5 idle cores (a shared machine)
  --fresh-shadows       start from empty shadows (default: aged, as after 100 updates: full replay window)
  --experiment-fast-pg-arrays
                        (needs the probe) encode text[] parameters in the worker with JSON.stringify instead of
                        node-postgres's regex escaping: same bytes to the database, less CPU; an experiment, not the product
  --cpu-prof            run the worker with --cpu-prof and summarise where its CPU went in (c) and (d)
  --cpu-prof-dir DIR    with --cpu-prof: keep the worker's .cpuprofile in DIR (for DevTools) instead of a temp dir
  --out FILE            JSON result (default bench/results/ingest.json)`);
  process.exit(0);
}

const num = (name: keyof typeof args) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
};
const DEVICES = num("devices");
const MESSAGES = num("messages");
const NAIVE_MESSAGES = num("naive-messages");
const PUBLISHERS = Math.max(1, num("publishers"));
const PASS_THROUGH_RUNS = Math.max(1, num("pass-through-runs"));
const RATE = num("rate");
const SOAK_MIN = num("soak");
const LATENCY_MS = SOAK_MIN > 0 ? SOAK_MIN * 60_000 : num("latency-seconds") * 1000;
const PROBE = !args["no-probe"];
const WORKER_ENV: Record<string, string> = Object.fromEntries(
  (args["worker-env"] as string[]).map((kv) => {
    const i = kv.indexOf("=");
    if (i <= 0) throw new Error(`--worker-env wants KEY=VALUE, got "${kv}"`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);

const say = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const perSec = (r: RunResult) => r.accepted / ((r.endedAt - r.startedAt) / 1000);
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

async function main() {
  installExitHandlers();
  const waitIdle = num("wait-idle");
  const quiet = waitIdle > 0 ? await waitForIdle(waitIdle, 1.5, say) : { waitedSec: 0, idleCores: await idleCores(1000) };
  const startedAt = new Date();
  const machine = machineInfo();
  say(`${machine.cores} cores (${machine.cpuModel}), load average ${machine.loadAvg.map((v) => v.toFixed(1)).join(" ")}, ${quiet.idleCores} cores idle at the start`);
  const pgStats = new PgStats();
  await pgStats.connect();
  const postgres = await pgStats.version();
  const pgSettings = await pgStats.settings();

  const broker = await startMosquitto();
  const login = { url: broker.platformUrl, username: broker.username, password: broker.password };
  say(`mosquitto ${broker.version} (pid ${broker.pid}) platform listener ${broker.platformUrl}; PostgreSQL ${postgres}`);

  const ids = deviceIds(DEVICES);
  say(`creating two databases (naive, real) and registering ${DEVICES} devices in each with importDevices…`);
  const naiveDb = await createBenchDatabase(ids);
  const realDb = await createBenchDatabase(ids);
  const AGED = !args["fresh-shadows"];
  if (AGED) await ageShadows(realDb.url);
  const start = AGED ? { seq: AGED_VERSION, version: AGED_VERSION } : { seq: 0, version: 0 };

  // (a) ----------------------------------------------------------------------
  // A run lasts well under a second, so one run is at the mercy of JIT warm-up and whatever
  // else the machine does: the broker's limit is the best of several (the highest bar for the ratio).
  say(`(a) pass-through: ${MESSAGES} QoS 1 messages, ${PUBLISHERS} publishers → mosquitto → 1 MQTT.js subscriber, best of ${PASS_THROUGH_RUNS}`);
  const ptRuns: Array<{ run: Awaited<ReturnType<typeof passThrough>>; cpu: CpuSplit }> = [];
  for (let i = 0; i < PASS_THROUGH_RUNS; i++) {
    const ptCpu = new CpuMeter({ mosquitto: broker.pid }, pgStats, realDb.name);
    await ptCpu.begin();
    const run = await passThrough(login, ids, MESSAGES, PUBLISHERS);
    const cpu = await ptCpu.end(MESSAGES);
    if (!run.complete) throw new Error(`pass-through lost messages: ${run.received} of ${run.total}`);
    say(`    run ${i + 1}: ${Math.round(run.perSec)} msg/s (${run.received} in ${run.seconds.toFixed(2)} s)`);
    ptRuns.push({ run, cpu });
  }
  const { run: pt, cpu: ptCpuSplit } = ptRuns.reduce((best, r) => (r.run.perSec > best.run.perSec ? r : best));

  // (b) ----------------------------------------------------------------------
  say(`(b) naive pipeline: ${NAIVE_MESSAGES} updates, Prisma upsert + event insert per message, ack after commit`);
  const naive = await startNaiveConsumer(login, naiveDb.url);
  const naiveFleet = new Fleet(ids, PUBLISHERS, login);
  await naiveFleet.connect();
  const naiveCpu = new CpuMeter({ mosquitto: broker.pid }, pgStats, naiveDb.name);
  await sleep(200);
  const naiveTx0 = await pgStats.xactCommit(naiveDb.name);
  await naiveCpu.begin();
  const naiveRun = await naiveFleet.closedLoop(NAIVE_MESSAGES);
  const naiveCpuSplit = await naiveCpu.end(naiveRun.accepted);
  await naiveFleet.close();
  await naive.stop();
  await sleep(500); // the naive pool is closed: its backends flushed their statistics as they exited
  const naiveTx = (await pgStats.xactCommit(naiveDb.name)) - naiveTx0;
  if (!naiveRun.complete) throw new Error(`naive run stalled: ${naiveRun.accepted} of ${NAIVE_MESSAGES} answered`);
  const naivePerSec = perSec(naiveRun);
  say(`    ${Math.round(naivePerSec)} updates/s (${naiveRun.accepted} accepted, ${naiveTx} transactions)`);

  // (c) ----------------------------------------------------------------------
  say(`(c) real worker: starting node --import tsx server/main.ts --worker${PROBE ? " (+ bench/lib/worker-probe.ts)" : ""}` +
    (Object.keys(WORKER_ENV).length ? ` with ${Object.entries(WORKER_ENV).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""));
  const keepProfIn = args["cpu-prof-dir"] ? path.resolve(args["cpu-prof-dir"]) : undefined;
  if (keepProfIn) fs.mkdirSync(keepProfIn, { recursive: true });
  const cpuProfDir = args["cpu-prof"] ? (keepProfIn ?? fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-bench-prof-"))) : undefined;
  if (cpuProfDir && !keepProfIn) onCleanup("cpu profile dir", () => fs.rmSync(cpuProfDir, { recursive: true, force: true }));
  const EXPERIMENTS = args["experiment-fast-pg-arrays"] ? ["fast-pg-arrays"] : [];
  if (EXPERIMENTS.length > 0 && !PROBE) throw new Error("--experiment-fast-pg-arrays needs the probe (drop --no-probe)");
  const worker = await startWorker({
    databaseUrl: realDb.url, mqttUrl: broker.platformUrl, username: broker.username, password: broker.password, probe: PROBE, cpuProfDir,
    env: { ...WORKER_ENV, ...(EXPERIMENTS.includes("fast-pg-arrays") ? { BENCH_FAST_PG_ARRAYS: "1" } : {}) },
  });
  if (EXPERIMENTS.length > 0) say(`    EXPERIMENT in the worker: ${EXPERIMENTS.join(", ")} (not the product as shipped)`);
  const fleet = new Fleet(ids, PUBLISHERS, login, start);
  await fleet.connect();
  worker.setPhase("warmup");
  const warm = await fleet.closedLoop(DEVICES);
  if (!warm.complete) throw new Error(`warm-up stalled: ${warm.accepted} of ${DEVICES} answered\n${worker.log()}`);
  say(`    warm-up: one update per device, ${Math.round(perSec(warm))} updates/s (cold cache)`);
  await sleep(500);
  await worker.probe(true);
  const realCpu = new CpuMeter({ worker: worker.pid, mosquitto: broker.pid }, pgStats, realDb.name);
  await realCpu.begin();
  const realWindow = [monoUs(), 0];
  worker.setPhase("throughput");
  const realRun = await fleet.closedLoop(MESSAGES);
  realWindow[1] = monoUs();
  const realCpuSplit = await realCpu.end(realRun.accepted + realRun.rejected);
  const realProbe = await worker.probe(true);
  if (!realRun.complete) throw new Error(`real run stalled: ${realRun.accepted + realRun.rejected} of ${MESSAGES} answered\n${worker.log()}`);
  const realPerSec = perSec(realRun);
  say(`    ${Math.round(realPerSec)} accepted updates/s (${realRun.accepted} accepted, ${realRun.rejected} rejected)`);

  // (d) + (e) -----------------------------------------------------------------
  say(`(d) latency: ${RATE} updates/s for ${LATENCY_MS / 1000} s, paced, each device waits for its answer`);
  worker.setPhase("latency");
  const latCpu = new CpuMeter({ worker: worker.pid, mosquitto: broker.pid }, pgStats, realDb.name);
  await latCpu.begin();
  const checkpoints0 = await pgStats.checkpoints();
  const latStartWall = Date.now();
  const latWindow = [monoUs(), 0];
  const latRun = await fleet.paced(RATE, LATENCY_MS, {
    onTick: SOAK_MIN > 0 ? (ms) => ms % 60_000 < 1000 && say(`    soak ${Math.round(ms / 60_000)} min, worker RSS ${worker.samples.at(-1)?.mb.toFixed(0)} MB`) : undefined,
  });
  latWindow[1] = monoUs();
  const latCpuSplit = await latCpu.end(latRun.accepted + latRun.rejected);
  const latProbe = await worker.probe(true);
  const checkpointsDuringLatency = (await pgStats.checkpoints()) - checkpoints0;
  const rel = (at: number) => round((at - latStartWall) / 1000, 1);
  const stalls = {
    note: "seconds after the start of (d)",
    slowStatements: (latProbe?.slowStatements ?? []).map((x) => ({ atSec: rel(x.at), category: x.category, ms: x.ms })),
    mosquittoAutosaves: broker.autosaves.filter((t) => t >= latStartWall && t <= latStartWall + LATENCY_MS + 20_000).map(rel),
    postgresCheckpoints: checkpointsDuringLatency,
  };
  worker.setPhase("after");
  if (!latRun.complete) throw new Error(`latency run stalled: ${latRun.accepted + latRun.rejected} of ${latRun.sent} answered`);
  const p50 = percentile(latRun.latenciesMs, 0.5);
  const p99 = percentile(latRun.latenciesMs, 0.99);
  const achievedRate = latRun.sent / (LATENCY_MS / 1000);
  say(`    p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${latRun.accepted} accepted, ${Math.round(achievedRate)}/s offered)`);
  const rss = rssSummary(worker.samples, ["throughput", "latency"]);

  // (f) ----------------------------------------------------------------------
  // PostgreSQL 15 backends publish their counters when they go idle, but at
  // most once a second and otherwise only 10 s later: xact_commit is read after
  // 11 s of quiet before and after the reconnect. The window therefore also
  // holds the worker's background work (outbox poll every 5 s, live push).
  say(`(f) mass reconnect: ${DEVICES} devices send sync/request at once`);
  const autoSql = "SELECT (sum(autovacuum_count) + sum(autoanalyze_count))::text AS n FROM pg_stat_all_tables";
  const auto0 = await pgStats.count(realDb.url, autoSql);
  await sleep(11_000);
  const tx0 = await pgStats.xactCommit(realDb.name);
  await worker.probe(true);
  const reconnectT0 = Date.now();
  const sync = await fleet.syncAll();
  await sleep(11_000);
  const tx1 = await pgStats.xactCommit(realDb.name);
  const reconnectMs = Date.now() - reconnectT0;
  const reconnectProbe = await worker.probe(true);
  await fleet.close();
  const auto1 = await pgStats.count(realDb.url, autoSql);
  if (!sync.complete) throw new Error(`mass reconnect stalled: ${sync.answered} of ${sync.requested} sync answers`);
  const reconnectTx = tx1 - tx0;
  const dbTxPer1000Reconnects = (reconnectTx / sync.requested) * 1000;
  const syncSeconds = (sync.endedAt - sync.startedAt) / 1000;
  const workerReconnectTx = reconnectProbe ? reconnectProbe.commits + reconnectProbe.standaloneQueries : null;
  say(`    ${sync.answered} sync answers in ${syncSeconds.toFixed(2)} s; Δxact_commit ${reconnectTx} over ${Math.round(reconnectMs / 1000)} s (worker's own count ${workerReconnectTx ?? "n/a"}) → ${round(dbTxPer1000Reconnects, 2)} per 1000 reconnects`);

  const acceptedStored = await pgStats.count(realDb.url, "SELECT count(*)::text AS n FROM shadow_events WHERE kind = 'update' AND outcome = 'accepted'");
  const workerExit = await worker.stop();
  let profiles: { real: ProfileSummary; latency: ProfileSummary; file?: string; windowsUs?: { real: number[]; latency: number[] } } | null = null;
  if (cpuProfDir) {
    const file = fs.readdirSync(cpuProfDir).find((f) => f.endsWith(".cpuprofile"));
    if (file) {
      const full = path.join(cpuProfDir, file);
      const root = path.resolve(HERE, "..");
      profiles = { real: summariseProfile(full, root, [[realWindow[0]!, realWindow[1]!]]), latency: summariseProfile(full, root, [[latWindow[0]!, latWindow[1]!]]) };
      if (keepProfIn) Object.assign(profiles, { file: full, windowsUs: { real: realWindow, latency: latWindow } });
    } else say("    no CPU profile was written (the worker did not exit normally?)");
  }
  const endLoad = os.loadavg();

  // Report -------------------------------------------------------------------
  const ratioRealToNaive = realPerSec / naivePerSec;
  const ratioRealToPassThrough = realPerSec / pt.perSec;
  const result = {
    at: startedAt.toISOString(),
    passThroughPerSec: Math.round(pt.perSec),
    naivePerSec: Math.round(naivePerSec),
    realPerSec: Math.round(realPerSec),
    realSteadyPerSec: Math.round(steadyRate(realRun.answeredAtMs)),
    ratioRealToNaive: round(ratioRealToNaive, 2),
    ratioRealToPassThrough: round(ratioRealToPassThrough, 3),
    p50AckMs: round(p50, 2),
    p99AckMs: round(p99, 2),
    latencyRatePerSec: RATE,
    latencyOfferedPerSec: Math.round(achievedRate),
    latencySeconds: LATENCY_MS / 1000,
    workerRssMb: rss.maxMb,
    workerRssFirstMb: rss.firstMb,
    workerRssLastMb: rss.lastMb,
    workerRssWindowSec: rss.windowSec,
    workerRssSpanSec: rss.spanSec,
    dbTxPer1000Reconnects: round(dbTxPer1000Reconnects, 2),
    messages: MESSAGES,
    naiveMessages: NAIVE_MESSAGES,
    devices: DEVICES,
    publishers: PUBLISHERS,
    loadShape:
      `${PUBLISHERS} gateway-style MQTT.js connections on the platform listener carry all ${DEVICES} devices; 1 collector connection receives every answer. ` +
      "Each device has at most one update in flight (closed loop).",
    cpuModel: machine.cpuModel,
    cores: machine.cores,
    node: machine.node,
    postgres,
    mosquitto: broker.version,
    loadAverage: { start: machine.loadAvg.map((v) => round(v, 2)), end: endLoad.map((v) => round(v, 2)) },
    idleCoresAtStart: quiet.idleCores,
    shadows: AGED ? `aged: every shadow starts as after ${AGED_VERSION} accepted updates (full 100-key replay window, 10 kept changes)` : "fresh (empty) shadows",
    git: gitState(path.resolve(HERE, "..")),
    workerEnv: WORKER_ENV,
    experiments: EXPERIMENTS,
    workerCommand: worker.argv.join(" "),
    details: {
      passThrough: { ...pt, seconds: round(pt.seconds, 3), perSec: Math.round(pt.perSec), cpu: ptCpuSplit, runsPerSec: ptRuns.map((r) => Math.round(r.run.perSec)) },
      naive: { ...summarizeRun(naiveRun), dbTransactions: naiveTx, dbTxPerMessage: round(naiveTx / naiveRun.accepted, 3), cpu: naiveCpuSplit },
      warmup: summarizeRun(warm),
      real: { ...summarizeRun(realRun), cpu: realCpuSplit, probe: realProbe },
      latency: { ...summarizeRun(latRun), p90AckMs: round(percentile(latRun.latenciesMs, 0.9), 2), p999AckMs: round(percentile(latRun.latenciesMs, 0.999), 2), maxAckMs: round(max(latRun.latenciesMs), 2), windows: latencyWindows(latRun.acceptedAtMs, latRun.latenciesMs, SOAK_MIN > 0 ? 10 : 1), starvedSlots: latRun.starved, cpu: latCpuSplit, stalls, probe: latProbe },
      reconnect: {
        devices: sync.requested,
        answered: sync.answered,
        modes: sync.modes,
        seconds: round(syncSeconds, 2),
        xactCommitDelta: reconnectTx,
        xactWindowSec: round(reconnectMs / 1000, 2),
        xactWindowNote: "from the sync/requests until 11 s after the last answer; includes the worker's background work (outbox poll every 5 s, live push)",
        autovacuumRunsInWindow: auto1 - auto0,
        workerTransactions: workerReconnectTx,
        probe: reconnectProbe,
      },
      workerCpuProfile: profiles,
      rss: { ...rss, samples: worker.samples.map((s) => ({ t: round(s.t), phase: s.phase, mb: round(s.mb) })) },
      acceptedUpdatesStored: acceptedStored,
      acceptedUpdatesAnswered: warm.accepted + realRun.accepted + latRun.accepted,
      workerExitCode: workerExit,
      postgresSettings: pgSettings,
    },
  };

  const cpuRow = (c: CpuSplit) =>
    `worker ${c.cores.worker} · pg ${c.cores.postgres} · mosquitto ${c.cores.mosquitto} · bench ${c.cores.bench} · other ${c.cores.otherOnMachine} · idle ${c.cores.machineIdle}`;
  const msRow = (c: CpuSplit) =>
    c.msPer1000 ? `worker ${c.msPer1000.worker} · pg ${c.msPer1000.postgres} · mosquitto ${c.msPer1000.mosquitto} · bench ${c.msPer1000.bench}` : "";
  console.log("");
  console.log(table([
    ["machine", `${machine.cores} × ${machine.cpuModel}`, `node ${machine.node}, PostgreSQL ${postgres}, mosquitto ${broker.version}`],
    ["load average (start → end)", `${machine.loadAvg[0]!.toFixed(1)} → ${endLoad[0]!.toFixed(1)}`, "other work on the machine competes for the same cores"],
    ["load shape", `${PUBLISHERS} gateways`, `${DEVICES} devices over the platform listener, 1 collector; ≤ 1 update in flight per device`],
    ...(EXPERIMENTS.length > 0 ? ([["EXPERIMENT", EXPERIMENTS.join(", "), "worker patched by the bench: NOT the product as shipped"]] as Array<[string, string, string]>) : []),
    ["shadows", AGED ? "aged" : "fresh", AGED ? `as after ${AGED_VERSION} updates: 100-key replay window, 10 kept changes, reported + desired docs` : "empty at the start"],
    ["---", ""],
    [
      "(a) pass-through msg/s",
      String(result.passThroughPerSec),
      `best of ${ptRuns.map((r) => Math.round(r.run.perSec)).join(" / ")}; ${MESSAGES} QoS 1 msgs, ${PUBLISHERS} pub → broker → 1 MQTT.js sub (auto-ack); ${cpuRow(ptCpuSplit)}`,
    ],
    ["(b) naive updates/s", String(result.naivePerSec), `${NAIVE_MESSAGES} msgs, ${result.details.naive.dbTxPerMessage} db tx/msg; ${cpuRow(naiveCpuSplit)}`],
    ["(c) real accepted updates/s", String(result.realPerSec), `${MESSAGES} msgs; steady ${result.realSteadyPerSec}/s; rejected ${realRun.rejected}`],
    ["    real / naive", `${result.ratioRealToNaive}×`, "target ≥ 10×"],
    ["    real / pass-through", String(result.ratioRealToPassThrough), "target ≥ 0.35"],
    ["    batch size (mean / p50 / max)", ...batchRow(realProbe, realRun.accepted + realRun.rejected)],
    ["    CPU cores during (c)", "", cpuRow(realCpuSplit)],
    ["    CPU ms per 1000 updates (c)", String(realCpuSplit.msPer1000?.total ?? ""), msRow(realCpuSplit)],
    ["---", ""],
    [`(d) p50 publish→accepted ms`, String(result.p50AckMs), `${RATE}/s for ${LATENCY_MS / 1000} s (${result.latencyOfferedPerSec}/s offered)`],
    [`(d) p99 publish→accepted ms`, String(result.p99AckMs), `target ≤ 50 ms; p99.9 ${result.details.latency.p999AckMs}, max ${result.details.latency.maxAckMs}`],
    ["    CPU cores during (d)", "", cpuRow(latCpuSplit)],
    ["    CPU ms per 1000 updates (d)", String(latCpuSplit.msPer1000?.total ?? ""), msRow(latCpuSplit)],
    ["---", ""],
    ["(e) worker RSS max MB", String(result.workerRssMb), `${rss.samples} samples over ${rss.spanSec} s of (c)+(d)`],
    ["    RSS first / last window MB", `${result.workerRssFirstMb} / ${result.workerRssLastMb}`, `mean of the first and last ${rss.windowSec} s`],
    ["---", ""],
    ["(f) db tx per 1000 reconnects", String(result.dbTxPer1000Reconnects), `${DEVICES} sync/requests at once; Δxact_commit ${reconnectTx} (worker's own ${workerReconnectTx ?? "n/a"}); answered in ${round(syncSeconds, 2)} s`],
    ["    stored = answered", `${acceptedStored} = ${result.details.acceptedUpdatesAnswered}`, "accepted updates in shadow_events vs accepted answers received"],
  ]));
  if (profiles) {
    for (const [phase, p] of [["real", profiles.real], ["latency", profiles.latency]] as const) {
      console.log(`\nworker CPU profile during ${phase === "real" ? "(c)" : "(d)"} (${p.sampledMs} ms sampled, idle excluded), by module:`);
      for (const m of p.byModule.slice(0, 10)) console.log(`  ${String(m.pct).padStart(5)}%  ${m.name}`);
      console.log("  top functions:");
      for (const f of p.byFunction.slice(0, 12)) console.log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
    }
    if (profiles.file) console.log(`\nworker CPU profile kept: ${profiles.file}`);
  }
  fs.mkdirSync(path.dirname(args.out!), { recursive: true });
  fs.writeFileSync(args.out!, JSON.stringify(result, null, 2) + "\n");
  say(`wrote ${path.relative(process.cwd(), args.out!)}`);
}

/**
 * Batches as the probe saw them. The worker writes a batch as one statement in autocommit,
 * which the probe counts but cannot size; older workers wrote a transaction per batch whose
 * events insert the probe sizes.
 */
function batchRow(p: ProbeSnapshot | null, messages: number): [string, string] {
  if (!p) return ["n/a", ""];
  const elu = `worker event loop ${Math.round(p.eventLoopUtilization * 100)}% busy`;
  // The probe files the one-statement batch under the first table it recognises in it.
  const statement = p.batchSize.n === 0 ? p.queries["device_findings"] : undefined;
  if (statement) {
    return [`${round(messages / statement.n, 1)} / – / –`, `${statement.n} batch statements (one round trip each), mean ${statement.meanMs} ms, max ${statement.maxMs} ms; ${elu}`];
  }
  return [`${p.batchSize.mean} / ${p.batchSize.p50} / ${p.batchSize.max}`, `${p.commits} commits, tx p50 ${p.txMs.p50} ms, ${elu}`];
}

function summarizeRun(r: RunResult) {
  return {
    sent: r.sent,
    accepted: r.accepted,
    duplicates: r.duplicates,
    rejected: r.rejected,
    rejectCodes: r.rejectCodes,
    seconds: round((r.endedAt - r.startedAt) / 1000, 3),
    perSec: Math.round(r.accepted / ((r.endedAt - r.startedAt) / 1000)),
    perSecond: r.perSecond.map((v) => v ?? 0),
    latencyMs: { p50: round(percentile(r.latenciesMs, 0.5), 2), p99: round(percentile(r.latenciesMs, 0.99), 2) },
  };
}

runBench(main);
