// The ingest pipeline's ordering and safety rules, against a fake database
// that behaves like the real batch statement at its seams: shadows are read,
// and a batch's write either commits (every shadow still at the version and
// lastSeq it was decided from) or writes nothing and names the stale devices.
// Writes are held until the test lets them commit, so the test sees exactly
// what the worker does while a COMMIT is outstanding. The SQL itself is
// covered by the integration tests (ingest*.int.test.ts, mutations.int.test.ts).
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { createIngest, type IngestInput } from "./ingest.ts";
import type { Response } from "./batch-rules.ts";

type Row = { version: number; lastSeq: number | null };
type HeldWrite = { rows: Array<{ id: string; ev: number; es: number | null; v?: number; s?: number | null }>; commit(): void; fail(): void };

function fakeDatabase(ids: string[]) {
  const shadows = new Map<string, Row>(ids.map((id) => [id, { version: 0, lastSeq: null }]));
  const held: HeldWrite[] = [];
  let reads = 0;
  const query = async (config: string | { text: string; values?: unknown[] }, params?: unknown[]) => {
    const text = typeof config === "string" ? config : config.text;
    const values = (typeof config === "string" ? params : config.values) ?? [];
    if (text.includes("to_regclass('shadow_events')")) return { rows: [{ table_exists: true, timescale: false }] };
    if (text.startsWith("SELECT d.id, d.type")) {
      reads++;
      const wanted = values[0] as string[];
      return {
        rows: wanted.filter((id) => shadows.has(id)).map((id) => {
          const s = shadows.get(id)!;
          return {
            id, type: "t", region: "eu-west", firmware_version: "1.0.0", revoked: false, max_skew: null,
            version: s.version, last_seq: s.lastSeq === null ? null : String(s.lastSeq), recent_keys: [],
            reported: {}, desired: {}, metadata: null, changes: [], online: false, last_seen_at: null, device_clock_at: null, clock_skew_sec: null,
          };
        }),
      };
    }
    if (text.startsWith("/* ingest batch */")) {
      const rows = JSON.parse(values[0] as string) as HeldWrite["rows"];
      return new Promise((resolve, reject) => {
        held.push({
          rows,
          fail: () => reject(new Error("connection terminated unexpectedly")),
          commit() {
            const stale = rows.filter((r) => shadows.get(r.id)?.version !== r.ev || shadows.get(r.id)?.lastSeq !== r.es).map((r) => r.id);
            if (stale.length > 0) return resolve({ rows: [{ go: false, stale, written: 0 }] });
            for (const r of rows) if (r.v !== undefined) shadows.set(r.id, { version: r.v, lastSeq: r.s ?? null });
            resolve({ rows: [{ go: true, stale: null, written: rows.length }] });
          },
        });
      });
    }
    throw new Error(`unexpected query: ${text.slice(0, 60)}`);
  };
  const connect = async () => ({ query, on: () => undefined, release: () => undefined });
  return { pool: { query, connect } as unknown as pg.Pool, shadows, held, reads: () => reads };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
async function until(what: string, ok: () => boolean) {
  for (let i = 0; i < 400 && !ok(); i++) await tick();
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

function harness(ids: string[]) {
  const db = fakeDatabase(ids);
  const answers: Array<{ id: string; suffix: string; body: { version?: number; code?: string } }> = [];
  const acked: string[] = [];
  const record = (rs: Response[]) => answers.push(...rs.map((r) => ({ id: r.deviceId, suffix: r.suffix, body: r.body as { version?: number } })));
  const ingest = createIngest({ pool: db.pool, publish: record, publishSync: () => undefined, maxBatch: 2, maxWaitMs: 50 });
  const update = (id: string, n: number, tag = `${id}#${n}`): IngestInput => ({
    topic: `fleet/${id}/shadow/update`,
    payload: Buffer.from(JSON.stringify({ seq: n, version: n, deviceTime: Date.now() / 1000, state: { reported: { n } } })),
    receivedAt: Date.now(),
    ack: () => acked.push(tag),
  });
  return { db, ingest, answers, acked, update };
}

describe("ingest pipeline", () => {
  it("decides the next batch while one is written, sends it only after the COMMIT, and acks and answers each batch after its own", async () => {
    const { db, ingest, answers, acked, update } = harness(["a", "b"]);
    for (const m of [update("a", 1), update("b", 1), update("a", 2), update("b", 2)]) ingest.push(m);
    await until("the first write", () => db.held.length === 1);
    await until("the second batch decided", () => ingest.stats().queued === 0 && db.reads() === 1);
    await tick();
    expect(db.held).toHaveLength(1); // batch 2 waits for batch 1's COMMIT
    expect(acked).toEqual([]);
    expect(answers).toEqual([]);

    db.held[0]!.commit();
    await until("the second write", () => db.held.length === 2);
    expect(acked).toEqual(["a#1", "b#1"]);
    expect(answers.map((a) => [a.id, a.body.version])).toEqual([["a", 1], ["b", 1]]);
    // Decided against what batch 1 commits, without reading it back.
    expect(db.held[1]!.rows.map((r) => [r.id, r.ev, r.v])).toEqual([["a", 1, 2], ["b", 1, 2]]);
    expect(db.reads()).toBe(1);

    db.held[1]!.commit();
    await until("batch 2 answered", () => acked.length === 4);
    expect(acked).toEqual(["a#1", "b#1", "a#2", "b#2"]);
    expect(answers.map((a) => `${a.id}:${a.suffix}:${a.body.version}`)).toEqual([
      "a:shadow/update/accepted:1", "b:shadow/update/accepted:1", "a:shadow/update/accepted:2", "b:shadow/update/accepted:2",
    ]);
    expect(db.shadows.get("a")).toEqual({ version: 2, lastSeq: 2 });
  });

  it("on a conflict, throws away the batch decided ahead, decides both again from fresh reads and commits them in order", async () => {
    const { db, ingest, answers, acked, update } = harness(["a", "b", "c"]);
    for (const m of [update("a", 1), update("b", 1), update("a", 2), update("c", 1)]) ingest.push(m);
    await until("the first write and the second batch decided", () => db.held.length === 1 && ingest.stats().queued === 0 && db.reads() === 2);
    await tick();
    db.shadows.set("b", { version: 5, lastSeq: null }); // a desired change moved b on meanwhile
    db.held[0]!.commit(); // → conflict: nothing written
    await until("batch 1 written again", () => db.held.length === 2);
    expect(acked).toEqual([]);
    expect(db.held[1]!.rows.map((r) => [r.id, r.ev])).toEqual([["a", 0], ["b", 5]]);
    db.held[1]!.commit();
    await until("batch 2 written again", () => db.held.length === 3);
    // Decided after batch 1 really committed, not the copy prepared against its first attempt.
    expect(db.held[2]!.rows.map((r) => [r.id, r.ev, r.v])).toEqual([["a", 1, 2], ["c", 0, 1]]);
    db.held[2]!.commit();
    await until("everything answered", () => acked.length === 4);

    expect(acked).toEqual(["a#1", "b#1", "a#2", "c#1"]);
    expect(answers.map((a) => `${a.id}:${a.body.version ?? a.body.code}`)).toEqual(["a:1", "b:stale_version", "a:2", "c:1"]);
    expect(ingest.stats()).toMatchObject({ conflicts: 1, discarded: 1, committed: 4, failures: 0 });
    expect(db.shadows.get("b")).toEqual({ version: 5, lastSeq: 1 }); // rejected, but its seq was seen
  });

  it("keeps a batch whose write failed unacknowledged, and commits it, then the next, from fresh reads", async () => {
    const { db, ingest, acked, update } = harness(["a", "b"]);
    for (const m of [update("a", 1), update("b", 1), update("a", 2), update("b", 2)]) ingest.push(m);
    await until("the first write and the second batch decided", () => db.held.length === 1 && ingest.stats().queued === 0);
    await tick();
    db.held[0]!.fail();
    await until("batch 1 written again", () => db.held.length === 2);
    expect(acked).toEqual([]);
    expect(db.reads()).toBe(2); // what the failed write may or may not have done is read back
    expect(db.held[1]!.rows.map((r) => [r.id, r.ev, r.v])).toEqual([["a", 0, 1], ["b", 0, 1]]);
    db.held[1]!.commit();
    await until("batch 2 written", () => db.held.length === 3);
    expect(db.held[2]!.rows.map((r) => [r.id, r.ev, r.v])).toEqual([["a", 1, 2], ["b", 1, 2]]);
    db.held[2]!.commit();
    await until("everything acknowledged", () => acked.length === 4);
    expect(acked).toEqual(["a#1", "b#1", "a#2", "b#2"]);
    expect(ingest.stats()).toMatchObject({ failures: 1, discarded: 1, committed: 4 });
  });

  it("drain() finishes the batch in flight and the one decided behind it", async () => {
    const { db, ingest, acked, update } = harness(["a"]);
    for (const m of [update("a", 1), update("a", 2), update("a", 3)]) ingest.push(m);
    await until("the first write", () => db.held.length === 1);
    let drained = false;
    const draining = ingest.drain().then(() => (drained = true));
    for (let i = 0; i < 2; i++) {
      await until(`write ${i + 1}`, () => db.held.length === i + 1);
      await tick();
      expect(drained).toBe(false);
      db.held[i]!.commit();
    }
    await draining;
    expect(acked).toEqual(["a#1", "a#2", "a#3"]);
    expect(db.shadows.get("a")).toEqual({ version: 3, lastSeq: 3 });
  });
});
