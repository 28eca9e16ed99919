// Optional profiler preloaded into the worker process by the bench
// (`node --import tsx --import ./bench/lib/worker-probe.ts server/main.ts --worker`).
// It changes nothing the worker does: it times every query node-postgres
// runs (by kind), tracks transactions and batch sizes, and reports them with
// the event loop's utilisation and the process's CPU time when the bench asks
// over the IPC channel. Cost: two performance.now() calls per query.
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import pg from "pg";

type Category = { n: number; ms: number; maxMs: number };
type TxState = { beganAt: number; ingest: boolean };

const categories = new Map<string, Category>();
const openTx = new WeakMap<object, TxState>();
let txMs: number[] = [];
let batchSizes: number[] = [];
let cycleMs: number[] = [];
let gapMs: number[] = [];
let commits = 0;
let rollbacks = 0;
let standalone = 0;
let lastIngestCommitAt = 0;
/** Statements slower than SLOW_MS, with wall-clock time, to line stalls up with other events. */
const SLOW_MS = 100;
let slow: Array<{ at: number; category: string; ms: number }> = [];
let elu = performance.eventLoopUtilization();
let cpu = process.cpuUsage();
let since = performance.now();

function classify(text: string): string {
  const t = text.trimStart().slice(0, 80).replace(/\s+/g, " ");
  if (/^BEGIN/i.test(t)) return "BEGIN";
  if (/^COMMIT/i.test(t)) return "COMMIT";
  if (/^ROLLBACK/i.test(t)) return "ROLLBACK";
  if (t.startsWith("UPDATE device_shadows")) return "update device_shadows";
  if (t.startsWith("INSERT INTO shadow_events_1m")) return "upsert shadow_events_1m";
  if (t.startsWith("INSERT INTO shadow_events")) return "insert shadow_events";
  if (t.startsWith("SELECT d.id, d.type")) return "load shadows";
  if (t.startsWith("UPDATE devices")) return "update devices";
  if (text.includes("device_findings")) return "device_findings";
  if (text.includes("mqtt_outbox")) return "outbox";
  return `other: ${t.slice(0, 40)}`;
}

function record(client: object, category: string, startedAt: number, values: unknown[] | undefined) {
  const now = performance.now();
  const ms = now - startedAt;
  const c = categories.get(category) ?? { n: 0, ms: 0, maxMs: 0 };
  c.n++;
  c.ms += ms;
  if (ms > c.maxMs) c.maxMs = ms;
  categories.set(category, c);
  if (ms >= SLOW_MS && slow.length < 500) slow.push({ at: Date.now(), category, ms: Math.round(ms) });
  const tx = openTx.get(client);
  if (category === "insert shadow_events" && Array.isArray(values?.[0])) batchSizes.push((values[0] as unknown[]).length);
  if (category === "update device_shadows" && tx) tx.ingest = true;
  if (category === "COMMIT" || category === "ROLLBACK") {
    if (category === "COMMIT") commits++;
    else rollbacks++;
    if (tx) {
      txMs.push(now - tx.beganAt);
      if (tx.ingest && category === "COMMIT") {
        if (lastIngestCommitAt > 0) {
          cycleMs.push(now - lastIngestCommitAt);
          gapMs.push(tx.beganAt - lastIngestCommitAt);
        }
        lastIngestCommitAt = now;
      }
    }
    openTx.delete(client);
  } else if (!tx && category !== "BEGIN") standalone++;
}

type QueryFn = (...args: unknown[]) => unknown;
const proto = pg.Client.prototype as unknown as { query: QueryFn };
const original = proto.query;
proto.query = function probedQuery(this: object, ...args: unknown[]) {
  const config = args[0] as { text?: unknown; values?: unknown[]; submit?: unknown } | string;
  const text = typeof config === "string" ? config : config?.text;
  if (typeof text !== "string" || (typeof config === "object" && typeof config?.submit === "function")) return original.apply(this, args);
  const category = classify(text);
  const values = Array.isArray(args[1]) ? (args[1] as unknown[]) : typeof config === "object" ? config.values : undefined;
  const startedAt = performance.now();
  if (category === "BEGIN") openTx.set(this, { beganAt: startedAt, ingest: false });
  const cbIndex = args.findIndex((a) => typeof a === "function");
  if (cbIndex >= 0) {
    const cb = args[cbIndex] as (...r: unknown[]) => unknown;
    args[cbIndex] = (...r: unknown[]) => {
      record(this, category, startedAt, values);
      return cb(...r);
    };
    return original.apply(this, args);
  }
  const result = original.apply(this, args) as Promise<unknown> | undefined;
  if (result && typeof result.then === "function") {
    const done = () => record(this, category, startedAt, values);
    result.then(done, done);
  }
  return result;
};

// Experiment (off unless the bench sets BENCH_FAST_PG_ARRAYS=1): node-postgres
// turns a text[] parameter into an array literal with two global regex
// replaces per element, which is slow for long JSON texts. For elements free
// of control characters and surrogates, JSON.stringify produces the very same
// escaping (backslash and double quote), so the literal sent is byte-for-byte
// what pg would send; only the client's CPU changes.
if (process.env.BENCH_FAST_PG_ARRAYS === "1") {
  const utils = createRequire(import.meta.url)("pg/lib/utils.js") as { prepareValue: (v: unknown) => unknown };
  const original = utils.prepareValue;
  const unsafe = /[\u0000-\u001f\ud800-\udfff]/;
  utils.prepareValue = (value: unknown) => {
    if (!Array.isArray(value) || value.length === 0) return original(value);
    for (const v of value) if (v !== null && (typeof v !== "string" || unsafe.test(v))) return original(value);
    return `{${value.map((v: string | null) => (v === null ? "NULL" : JSON.stringify(v))).join(",")}}`;
  };
}

function summary(values: number[]) {
  if (values.length === 0) return { n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const sum = sorted.reduce((a, b) => a + b, 0);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: sorted.length, mean: r(sum / sorted.length), p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), max: r(sorted[sorted.length - 1]!), sum: r(sum) };
}

function snapshot() {
  const wallMs = performance.now() - since;
  const u = performance.eventLoopUtilization(elu);
  const c = process.cpuUsage(cpu);
  return {
    wallMs: Math.round(wallMs),
    eventLoopUtilization: Math.round(u.utilization * 1000) / 1000,
    cpuSec: { user: c.user / 1e6, system: c.system / 1e6 },
    commits,
    rollbacks,
    standaloneQueries: standalone,
    queries: Object.fromEntries(
      [...categories].map(([k, v]) => [k, { n: v.n, totalMs: Math.round(v.ms), meanMs: Math.round((v.ms / v.n) * 100) / 100, maxMs: Math.round(v.maxMs) }]),
    ),
    txMs: summary(txMs),
    batchSize: summary(batchSizes),
    batchCycleMs: summary(cycleMs),
    gapBetweenBatchesMs: summary(gapMs),
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1048576),
    slowStatements: slow,
  };
}

function reset() {
  categories.clear();
  txMs = [];
  batchSizes = [];
  cycleMs = [];
  gapMs = [];
  commits = 0;
  rollbacks = 0;
  standalone = 0;
  lastIngestCommitAt = 0;
  slow = [];
  elu = performance.eventLoopUtilization();
  cpu = process.cpuUsage();
  since = performance.now();
}

if (process.send) {
  process.on("message", (msg: { type?: string; id?: number; reset?: boolean }) => {
    if (msg?.type !== "bench-probe") return;
    const data = snapshot();
    if (msg.reset) reset();
    process.send?.({ type: "bench-probe", id: msg.id, data });
  });
  // The channel must not keep the worker alive when it shuts down.
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
}
