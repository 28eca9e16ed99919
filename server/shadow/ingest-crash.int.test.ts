// The ingest under crashes and concurrency, from outside: REAL worker
// processes (server/main.ts --worker) on a private Mosquitto from the shipped
// config and a fresh database; the test process plays the devices over MQTT.
//
// Devices behave like real ones so that the outcome is deterministic whatever
// the timing: each publishes its next update only once the previous one was
// answered, and re-sends the SAME message (same seq, version, deviceTime) when
// no answer came in time (QoS 1 + retry). Whatever the worker did before it
// died (committed or not, acknowledged or not, answered or not), every update
// must then end up accepted exactly once.
import fs from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnectDb } from "@/server/db/client.ts";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-database.ts";
import { importDevices } from "@/server/devices/mutations.ts";
import { connectTestDevice, startTcpProxy, startTestMosquitto, type TcpProxy, type TestDevice, type TestMosquitto } from "@/server/mqtt/test-broker.ts";
import { startTestWorker, waitUntilIngesting, type TestWorker } from "@/server/worker/test-worker.ts";

// Many devices with a short history each rather than few with a long one: the run is about
// crashes, and a device's replay keys (up to 100) are rewritten with every update it makes,
// so long histories are several times slower to ingest.
const CRASH_DEVICES = Array.from({ length: 2000 }, (_, i) => `crash-${String(i).padStart(4, "0")}`);
const CRASH_UPDATES = 25; // × 2,000 devices = 50,000 updates
const FIRST_KILL_AT = 15_000; // accepted updates
const SECOND_KILL_AT = 32_000;
const SHARED_DEVICES = ["share-0", "share-1", "share-2", "share-3"];
const SHARED_UPDATES = 300;
const REGISTERED = ["probe", ...CRASH_DEVICES, ...SHARED_DEVICES];

let db: TestDatabase;
let pool: pg.Pool;
const brokers: TestMosquitto[] = [];
const proxies: TcpProxy[] = [];
const workers: TestWorker[] = [];
const devices: TestDevice[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url; // importDevices uses the process's Prisma client
  const rows = REGISTERED.map((id, i) => ({ line: i + 2, id, type: "gw-edge", hardwareVersion: "rev-a", region: "eu-west", firmwareVersion: "4.1.0", tags: [] }));
  await importDevices(rows, [], { type: "system", label: "ingest-crash.int.test" }, {});
  pool = db.pool(3);
}, 60_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.end(true)));
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(brokers.map((b) => b.stop()));
  await disconnectDb();
  await db?.drop();
});

async function broker(): Promise<TestMosquitto> {
  const b = await startTestMosquitto({ devices: REGISTERED });
  brokers.push(b);
  return b;
}
async function worker(b: TestMosquitto, workerId: string, mqttUrl = b.platformUrl): Promise<TestWorker> {
  const w = startTestWorker({ databaseUrl: db.url, mqttUrl, mqttUsername: b.platformUsername, mqttPassword: b.platformPassword, workerId });
  workers.push(w);
  await w.waitForLog(/\[ingest\] connected/);
  return w;
}
async function connectAll(b: TestMosquitto, ids: string[]): Promise<TestDevice[]> {
  const connected = await Promise.all(ids.map((id) => connectTestDevice(b, id, { subscribe: ["shadow/update/+"] })));
  devices.push(...connected);
  return connected;
}
async function ready(b: TestMosquitto) {
  const probe = await connectTestDevice(b, "probe"); // listens for shadow/get answers
  devices.push(probe);
  await waitUntilIngesting(probe);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function acceptedCount(): Promise<number> {
  const { rows } = await pool.query("SELECT count(*)::int AS n FROM shadow_events WHERE kind = 'update' AND outcome = 'accepted'");
  return rows[0].n;
}
async function untilAccepted(n: number): Promise<number> {
  for (let count = 0; ; await sleep(25)) if ((count = await acceptedCount()) >= n) return count;
}

type Answer = { version: number; duplicate?: boolean; code?: string };

type Run = { retryMs: number; resent: number; progress: Map<string, number> };

/**
 * Updates 1..count (seq = version = i, reported.counter = i), one at a time. `copies` > 1 publishes
 * each update that many times at once (a retry racing its original) and waits for every answer.
 * Unanswered after run.retryMs (read at each wait, so a test can change it), it re-sends the update.
 */
async function runDevice(d: TestDevice, count: number, run: Run, copies = 1): Promise<void> {
  const topic = `fleet/${d.id}/shadow/update`;
  for (let i = 1; i <= count; i++) {
    const token = `u${i}`;
    const payload = JSON.stringify({ seq: i, version: i, deviceTime: Math.floor(Date.now() / 1000), clientToken: token, state: { reported: { counter: i } } });
    const from = d.messages.length;
    const answers = () => d.messages.slice(from).filter((m) => m.body?.clientToken === token);
    for (let c = 0; c < copies; c++) d.client.publish(topic, payload, { qos: 1 });
    const started = Date.now();
    while (!(await d.waitFor(() => answers().length >= copies, { from, timeoutMs: run.retryMs }))) {
      if (Date.now() - started > 90_000) throw new Error(`${d.id}: no answer to update ${i} in time`);
      run.resent++;
      d.client.publish(topic, payload, { qos: 1 }); // the SAME message again
    }
    const rejected = answers().find((m) => m.suffix !== "shadow/update/accepted");
    if (rejected) throw new Error(`${d.id}: update ${i} was rejected: ${rejected.raw.toString()}`);
    run.progress.set(d.id, i);
  }
}

/** Every answer each device received, by update number (the clientToken u{i}). */
function answersByUpdate(d: TestDevice): Map<number, Answer[]> {
  const out = new Map<number, Answer[]>();
  for (const m of d.messages) {
    const i = Number(/^u(\d+)$/.exec(m.body?.clientToken ?? "")?.[1]);
    if (i > 0) out.set(i, [...(out.get(i) ?? []), m.body as Answer]);
  }
  return out;
}

/** Per device: shadow row and accepted/duplicate/rejected events from shadow_events. */
async function ledger(ids: string[]) {
  const { rows } = await pool.query(
    `SELECT s.device_id AS id, s.version, s.last_seq::int AS "lastSeq", s.reported,
            count(e.*) FILTER (WHERE e.outcome = 'accepted')::int AS accepted,
            count(DISTINCT e.accepted_version) FILTER (WHERE e.outcome = 'accepted')::int AS "distinctVersions",
            min(e.accepted_version) FILTER (WHERE e.outcome = 'accepted') AS "minVersion",
            max(e.accepted_version) FILTER (WHERE e.outcome = 'accepted') AS "maxVersion",
            count(e.*) FILTER (WHERE e.outcome = 'accepted' AND e.accepted_version IS DISTINCT FROM e.version)::int AS "wrongVersion",
            count(e.*) FILTER (WHERE e.outcome = 'duplicate')::int AS duplicates,
            count(e.*) FILTER (WHERE e.outcome = 'duplicate' AND e.accepted_version IS DISTINCT FROM e.version)::int AS "wrongDuplicate",
            count(e.*) FILTER (WHERE e.outcome = 'rejected')::int AS rejected
       FROM device_shadows s LEFT JOIN shadow_events e ON e.device_id = s.device_id AND e.kind = 'update'
      WHERE s.device_id = ANY($1::text[]) GROUP BY s.device_id, s.version, s.last_seq, s.reported ORDER BY s.device_id`,
    [ids],
  );
  return rows;
}
function expectExact(rows: Awaited<ReturnType<typeof ledger>>, ids: string[], k: number) {
  expect(rows.map((r) => r.id)).toEqual([...ids].sort());
  for (const r of rows) {
    const { duplicates: _d, ...exact } = r;
    expect(exact).toEqual({
      id: r.id, version: k, lastSeq: k, reported: { counter: k },
      accepted: k, distinctVersions: k, minVersion: 1, maxVersion: k, wrongVersion: 0, wrongDuplicate: 0, rejected: 0,
    });
  }
}
/** Bytes a process wrote through syscalls (sockets included), from /proc; null where there is no /proc. */
function bytesWritten(pid: number): number | null {
  try {
    return Number(/^wchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, "utf8"))?.[1]);
  } catch {
    return null;
  }
}

describe("ingest worker under kill -9", () => {
  it("loses nothing and bumps no version twice when the worker is SIGKILLed mid-run, twice (50,000 updates)", { timeout: 150_000 }, async () => {
    const b = await broker();
    await worker(b, "crash-worker");
    await ready(b);
    const fleet = await connectAll(b, CRASH_DEVICES);
    const started = Date.now();
    // Phase 1: devices wait long before re-sending, so that only the broker can bring back what the worker lost.
    const run: Run = { retryMs: 30_000, resent: 0, progress: new Map() };
    const runs = Promise.all(fleet.map((d) => runDevice(d, CRASH_UPDATES, run)));
    runs.catch(() => undefined); // awaited below; no unhandled rejection meanwhile

    // Kill 1: the database holds the worker's batch before its COMMIT (a lock on device_shadows); the
    // worker keeps taking messages in. Had it acknowledged any of them, the broker would not bring
    // them back and their devices would have to re-send.
    await untilAccepted(FIRST_KILL_AT);
    const lock = await pool.connect();
    await lock.query("BEGIN");
    await lock.query("LOCK TABLE device_shadows IN EXCLUSIVE MODE");
    for (const deadline = Date.now() + 20_000; ; await sleep(20)) {
      const { rows } = await lock.query("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'device_shadows'::regclass");
      if (rows[0].n > 0) break;
      if (Date.now() > deadline) throw new Error("the worker never waited for the lock");
    }
    await sleep(500);
    const atFirstKill = { accepted: await acceptedCount(), progress: new Map(run.progress) };
    expect((await workers[0]!.kill("SIGKILL")).signal).toBe("SIGKILL");
    await lock.query("ROLLBACK");
    lock.release();
    // Back through a proxy (same WORKER_ID: it resumes the broker session), for kill 2.
    const proxy = await startTcpProxy(b.platformUrl);
    proxies.push(proxy);
    const second = await worker(b, "crash-worker", proxy.url);
    expect(second.output()).toMatch(/session resumed/);
    // Every device gets past the update it was waiting on at the kill, without re-sending anything.
    const past = (d: TestDevice) => (run.progress.get(d.id) ?? 0) >= Math.min(CRASH_UPDATES, (atFirstKill.progress.get(d.id) ?? 0) + 1);
    while (!fleet.every(past)) await sleep(50);
    expect(run.resent).toBe(0);

    // Kill 2: the worker's acknowledgements (and answers) stop reaching the broker while it goes on
    // committing; then kill -9. What it committed comes back from the broker and must be a duplicate.
    run.retryMs = 2000; // from now on devices re-send after 2 s, as real ones do
    await untilAccepted(SECOND_KILL_AT);
    proxy.holdUpstream();
    const atHold = await acceptedCount();
    let atSecondKill = atHold;
    for (let last = -1; atSecondKill !== last; atSecondKill = await acceptedCount()) {
      last = atSecondKill;
      await sleep(500);
    }
    const committedUnacked = atSecondKill - atHold;
    expect((await second.kill("SIGKILL")).signal).toBe("SIGKILL");
    const killedAt = Date.now();
    await sleep(run.retryMs + 200); // down for longer than the devices' retry timeout: waiting devices re-send
    const third = await worker(b, "crash-worker");
    const downMs = Date.now() - killedAt;
    expect(third.output()).toMatch(/session resumed/);
    await runs;
    const elapsed = Date.now() - started;
    await sleep(300); // answers to re-sent copies still on their way

    const rows = await ledger(CRASH_DEVICES);
    expectExact(rows, CRASH_DEVICES, CRASH_UPDATES);
    // Every answer a device got for update i carries version i, and at most one of them is not a duplicate.
    let duplicateAnswers = 0;
    for (const d of fleet) {
      const answers = answersByUpdate(d);
      expect(answers.size).toBe(CRASH_UPDATES);
      for (const [i, list] of answers) {
        expect(list.every((x) => x.version === i && x.code === undefined)).toBe(true);
        expect(list.filter((x) => !x.duplicate).length).toBeLessThanOrEqual(1);
        duplicateAnswers += list.filter((x) => x.duplicate).length;
      }
    }
    // Each extra copy processed is a duplicate: the devices' re-sends, plus the broker's redeliveries
    // of what was committed but never acknowledged, at least the updates committed after the hold.
    const duplicateEvents = rows.reduce((n, r) => n + r.duplicates, 0);
    expect(committedUnacked).toBeGreaterThan(0);
    expect(run.resent).toBeGreaterThan(0);
    expect(duplicateEvents - run.resent).toBeGreaterThanOrEqual(committedUnacked);
    expect(duplicateAnswers).toBeGreaterThanOrEqual(committedUnacked);
    expect(second.output() + third.output()).not.toMatch(/failed/);
    console.log(
      `[ingest-crash] ${CRASH_DEVICES.length * CRASH_UPDATES} updates in ${elapsed} ms; SIGKILL at ${atFirstKill.accepted} accepted ` +
        `(database stalled) and at ${atSecondKill} (${committedUnacked} committed, unacknowledged; back in ${downMs} ms); ` +
        `re-sent ${run.resent}, duplicate events ${duplicateEvents}, duplicate answers ${duplicateAnswers}`,
    );
    await third.stop();
  });
});

describe("two workers on the shared subscription", () => {
  it("keeps every version exact while a device's messages and their retries race across workers", { timeout: 90_000 }, async () => {
    const b = await broker(); // a broker of its own: no session of another test's worker in the share group
    const [a, c] = await Promise.all([worker(b, "share-a"), worker(b, "share-b")]);
    await ready(b);
    const fleet = await connectAll(b, SHARED_DEVICES);
    const before = [bytesWritten(a.pid), bytesWritten(c.pid)];
    const started = Date.now();
    const run: Run = { retryMs: 30_000, resent: 0, progress: new Map() };
    await Promise.all(fleet.map((d) => runDevice(d, SHARED_UPDATES, run, 2)));
    const elapsed = Date.now() - started;
    const after = [bytesWritten(a.pid), bytesWritten(c.pid)];

    const rows = await ledger(SHARED_DEVICES);
    expectExact(rows, SHARED_DEVICES, SHARED_UPDATES);
    expect(run.resent).toBe(0); // nothing is lost without a crash
    for (const d of fleet) {
      for (const [i, answers] of answersByUpdate(d)) {
        // Two copies: one accepted it, the other was recognised as its duplicate, on whichever worker.
        const got = answers.map((x) => ({ version: x.version, duplicate: x.duplicate })).sort((x, y) => Number(x.duplicate) - Number(y.duplicate));
        expect(got).toEqual([{ version: i, duplicate: false }, { version: i, duplicate: true }]);
      }
    }
    for (const r of rows) expect(r.duplicates).toBe(SHARED_UPDATES);
    // Both workers took part (the broker round-robins the share group): each wrote its answers and batches.
    if (before.every((x) => x !== null)) for (const k of [0, 1]) expect(after[k]! - before[k]!).toBeGreaterThan(50_000);
    // Versions accepted per device, in the order they were recorded: exactly 1..k, no gap, no repeat.
    const { rows: seqs } = await pool.query(
      `SELECT device_id, array_agg(accepted_version ORDER BY server_time, accepted_version) AS versions FROM shadow_events
        WHERE device_id = ANY($1::text[]) AND kind = 'update' AND outcome = 'accepted' GROUP BY device_id`,
      [SHARED_DEVICES],
    );
    for (const r of seqs) expect(r.versions).toEqual(Array.from({ length: SHARED_UPDATES }, (_, i) => i + 1));
    expect(a.output() + c.output()).not.toMatch(/failed/);
    console.log(`[ingest-crash] two workers: ${SHARED_DEVICES.length * SHARED_UPDATES * 2} messages in ${elapsed} ms`);
    await Promise.all([a.stop(), c.stop()]);
  });
});
