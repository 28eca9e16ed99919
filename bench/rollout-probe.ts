// What the rollout benchmark measures about the controller, from inside the
// bench process (the controller runs there too). It changes nothing the
// controller does: it wraps node-postgres's `Client.query` and, for the
// controller's own connection (application_name "fleetwave-rollout-controller"),
// records every pass (BEGIN … COMMIT) with its wall time, its process CPU time,
// the time of each statement by kind, how many devices it notified and whether
// it opened a gate or completed the rollout. Statements the controller runs
// between passes (the list of running rollouts, the leader lock, LISTEN) are
// counted as its time too.
//
// With a `Mutex`, a pass (and every controller statement between passes) holds
// it while it runs, and the device driver takes the same mutex for each of its
// statements: the driver's database work never overlaps a pass, so it cannot
// inflate the pass times measured. Time spent waiting for the mutex is
// recorded, not counted as controller time.
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import pg from "pg";

export const CONTROLLER_APP = "fleetwave-rollout-controller";

/** A FIFO lock between the controller's passes and the device driver's statements. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  readonly waitedMs = { controller: 0, driver: 0 };

  async acquire(who: "controller" | "driver"): Promise<() => void> {
    const t0 = performance.now();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => held);
    await previous;
    this.waitedMs[who] += performance.now() - t0;
    return release;
  }

  async run<T>(who: "controller" | "driver", work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(who);
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/**
 * A thread's time on a CPU and waiting for one (run queue), ms, from
 * /proc/<pid>/schedstat (nanosecond accounting, unlike /proc/<pid>/stat's
 * clock ticks); null when the process is not on this machine or the kernel
 * does not expose it. For the node process this is its main thread.
 */
export function schedstat(pid: number): { runMs: number; waitMs: number } | null {
  try {
    const [run, wait] = fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { runMs: run! / 1e6, waitMs: wait! / 1e6 } : null;
  } catch {
    return null;
  }
}

export type PassRecord = {
  /** performance.now() when BEGIN was sent / when COMMIT (or ROLLBACK) came back. */
  startMs: number;
  endMs: number;
  /** Wall clock (Date.now()) of the same moments, to line passes up with database timestamps. */
  startWall: number;
  endWall: number;
  /** CLOCK_MONOTONIC µs (the clock of a V8 CPU profile). */
  startUs: number;
  endUs: number;
  /** Process CPU (user + system, all threads) during the pass, ms. */
  cpuMs: number;
  /** The main thread's run-queue wait during the pass (waiting for a core), ms; NaN without schedstat. */
  nodeWaitMs: number;
  /** The controller's PostgreSQL backend during the pass: on a CPU / waiting for one, ms; NaN without schedstat. */
  backendCpuMs: number;
  backendWaitMs: number;
  statements: number;
  /** ms per statement kind within the pass. */
  byKind: Map<string, number>;
  /** Executions followed (rows the follow step read). */
  followed: number;
  /** Devices notified (rows moved to `notified`). */
  notified: number;
  /** Wave whose gate this pass opened, if any. */
  advancedFrom: number | null;
  completed: boolean;
  /** The pass paused the rollout (its failure guard tripped). */
  paused: boolean;
  rolledBack: boolean;
};

export function classifyControllerSql(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  if (/^BEGIN/i.test(t)) return "BEGIN";
  if (/^COMMIT/i.test(t)) return "COMMIT";
  if (/^ROLLBACK/i.test(t)) return "ROLLBACK";
  if (t.startsWith("SELECT id FROM rollouts WHERE state = 'running'")) return "list running rollouts";
  if (t.startsWith("SELECT r.id, r.name")) return "lock rollout + firmware";
  if (t.includes("extract(epoch FROM e.notified_at)")) return "follow: read changed shadows";
  if (t.startsWith("UPDATE rollout_executions AS e SET state = u.state")) return "follow: update executions";
  if (t.includes("FROM rollout_waves w LEFT JOIN rollout_executions")) return "count: wave snapshots";
  if (t.startsWith("UPDATE rollout_waves") || t.startsWith("UPDATE rollouts")) return "decide: wave/rollout updates";
  if (t.includes("pg_advisory_xact_lock") || t.includes("FROM audit_events") || t.startsWith("INSERT INTO audit_events")) return "decide: audit event";
  if (t.startsWith("SELECT e.device_id, e.attempts")) return "notify: select due devices";
  if (t.startsWith("SELECT 1 FROM device_shadows")) return "notify: applyDesiredChanges (lock shadows)";
  if (t.startsWith("SELECT d.id, d.type")) return "notify: applyDesiredChanges (load shadows)";
  if (t.startsWith("UPDATE device_shadows")) return "notify: applyDesiredChanges (update shadows)";
  if (t.startsWith("INSERT INTO mqtt_outbox")) return "notify: applyDesiredChanges (queue deltas)";
  if (t.includes("SET state = 'notified'")) return "notify: update executions";
  if (t.startsWith("SELECT least(min(deadline_at)")) return "next due timer";
  return `other: ${t.slice(0, 50)}`;
}

export type Totals = { n: number; ms: number; maxMs: number; backendCpuMs: number; backendWaitMs: number };
type QueryFn = (...args: unknown[]) => unknown;
type PgResult = { rowCount?: number | null; rows?: unknown[] };

const cpuMsNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

export class ControllerProbe {
  readonly passes: PassRecord[] = [];
  /** Every controller statement by kind, in and between passes. */
  readonly kinds = new Map<string, Totals>();
  /** Controller statements outside a pass: count and time. */
  readonly between = { n: 0, ms: 0, cpuMs: 0, backendCpuMs: 0 };
  /** Live-push NOTIFYs sent through the product's pool (after a pass that changed something). */
  liveNotifies = 0;
  private current: PassRecord | null = null;
  private installed: QueryFn | null = null;
  private readonly apps = new WeakMap<object, string>();
  /** The controller connection's backend (set once known) and its schedstat at the last statement boundary. */
  private backendPid: number | null = null;
  private lastBackend: { runMs: number; waitMs: number } | null = null;

  constructor(private readonly mutex: Mutex | null) {}

  setBackendPid(pid: number | null) {
    this.backendPid = pid;
    this.lastBackend = pid === null ? null : schedstat(pid);
  }

  private backendNow() {
    return this.backendPid === null ? null : schedstat(this.backendPid);
  }

  reset() {
    this.passes.length = 0;
    this.kinds.clear();
    this.between.n = 0;
    this.between.ms = 0;
    this.between.cpuMs = 0;
    this.between.backendCpuMs = 0;
    this.liveNotifies = 0;
  }

  private appOf(client: object): string {
    let app = this.apps.get(client);
    if (app === undefined) {
      app = String((client as { connectionParameters?: { application_name?: unknown } }).connectionParameters?.application_name ?? "");
      this.apps.set(client, app);
    }
    return app;
  }

  private count(kind: string, ms: number, backendCpuMs: number, backendWaitMs: number) {
    const t = this.kinds.get(kind) ?? { n: 0, ms: 0, maxMs: 0, backendCpuMs: 0, backendWaitMs: 0 };
    t.n++;
    t.ms += ms;
    t.backendCpuMs += backendCpuMs;
    t.backendWaitMs += backendWaitMs;
    if (ms > t.maxMs) t.maxMs = ms;
    this.kinds.set(kind, t);
  }

  install() {
    if (this.installed) return;
    const proto = pg.Client.prototype as unknown as { query: QueryFn };
    const original = proto.query;
    this.installed = original;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const probe = this;
    proto.query = function probedQuery(this: object, ...args: unknown[]) {
      const config = args[0] as { text?: unknown; submit?: unknown } | string;
      const text = typeof config === "string" ? config : config?.text;
      const usesCallback = args.some((a) => typeof a === "function");
      if (typeof text !== "string" || (typeof config === "object" && typeof config?.submit === "function")) return original.apply(this, args);
      if (probe.appOf(this) !== CONTROLLER_APP) {
        // pg.Pool#query calls the client with a callback: counted, passed through.
        const values = args[1];
        if (text.includes("pg_notify") && Array.isArray(values) && String(values[0]).startsWith("fleetwave_live")) probe.liveNotifies++;
        return original.apply(this, args);
      }
      if (usesCallback) return original.apply(this, args);
      return probe.controllerQuery(this, original, args, text);
    };
  }

  uninstall() {
    if (!this.installed) return;
    (pg.Client.prototype as unknown as { query: QueryFn }).query = this.installed;
    this.installed = null;
  }

  private async controllerQuery(client: object, original: QueryFn, args: unknown[], text: string): Promise<unknown> {
    const kind = classifyControllerSql(text);
    if (kind === "BEGIN") {
      const release = this.mutex ? await this.mutex.acquire("controller") : null;
      const node = schedstat(process.pid);
      this.current = {
        startMs: performance.now(), endMs: 0, startWall: Date.now(), endWall: 0, startUs: monoUs(), endUs: 0, cpuMs: -cpuMsNow(),
        nodeWaitMs: node ? -node.waitMs : NaN, backendCpuMs: 0, backendWaitMs: 0,
        statements: 0, byKind: new Map(), followed: 0, notified: 0, advancedFrom: null, completed: false, paused: false, rolledBack: false,
      };
      this.lastBackend = this.backendNow();
      (this.current as PassRecord & { release?: (() => void) | null }).release = release;
    }
    const pass = this.current;
    const outside = pass === null;
    const release = outside && this.mutex ? await this.mutex.acquire("controller") : null;
    const before = this.lastBackend;
    const t0 = performance.now();
    const cpu0 = outside ? cpuMsNow() : 0;
    let failed = false;
    try {
      const result = (await original.apply(client, args)) as PgResult;
      if (pass) {
        if (kind === "follow: read changed shadows") pass.followed += result.rows?.length ?? 0;
        if (kind === "notify: update executions") pass.notified += result.rowCount ?? 0;
        if (kind === "decide: wave/rollout updates") {
          if (text.includes("SET state = 'passed', gate_passed_at = now()")) pass.advancedFrom = Number((args[1] as unknown[])[1]);
          if (text.includes("UPDATE rollouts SET state = 'completed'")) pass.completed = true;
          if (text.includes("UPDATE rollouts SET state = 'paused'")) pass.paused = true;
        }
      }
      return result;
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      const ms = performance.now() - t0;
      const after = this.backendNow();
      this.lastBackend = after;
      const bCpu = before && after ? after.runMs - before.runMs : NaN;
      const bWait = before && after ? after.waitMs - before.waitMs : NaN;
      this.count(kind, ms, bCpu, bWait);
      if (pass) {
        pass.backendCpuMs += bCpu;
        pass.backendWaitMs += bWait;
        pass.statements++;
        pass.byKind.set(kind, (pass.byKind.get(kind) ?? 0) + ms);
        // A failed BEGIN gets no ROLLBACK from the controller: end the pass here so the mutex is released.
        if (kind === "COMMIT" || kind === "ROLLBACK" || (kind === "BEGIN" && failed)) {
          pass.endMs = performance.now();
          pass.endWall = Date.now();
          pass.endUs = monoUs();
          pass.cpuMs += cpuMsNow();
          pass.nodeWaitMs += schedstat(process.pid)?.waitMs ?? NaN;
          pass.rolledBack = kind !== "COMMIT";
          this.passes.push(pass);
          this.current = null;
          (pass as PassRecord & { release?: (() => void) | null }).release?.();
        }
      } else {
        this.between.n++;
        this.between.ms += ms;
        this.between.cpuMs += cpuMsNow() - cpu0;
        if (Number.isFinite(bCpu)) this.between.backendCpuMs += bCpu;
        release?.();
      }
    }
  }
}
