import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./test-database.ts";
import {
  bumpRollups,
  detectTimeseriesMode,
  dropPartitionsOlderThan,
  ensurePartitions,
  insertShadowEvents,
  partitionForDay,
  readRollups,
  type ShadowEvent,
} from "./timeseries.ts";

const DAY = 86_400_000;
// One fixed "now" for the whole file, so a run across UTC midnight stays consistent.
const now = new Date();
const todayStart = Math.floor(now.getTime() / DAY) * DAY;
const at = (dayOffset: number, ms = 12 * 3_600_000) => new Date(todayStart + dayOffset * DAY + ms);

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool(5);
});

afterAll(async () => {
  await db?.drop();
});

function event(serverTime: Date, outcome: ShadowEvent["outcome"] = "accepted", extra: Partial<ShadowEvent> = {}): ShadowEvent {
  return { deviceId: "dev-1", serverTime, kind: "update", outcome, ...extra };
}

async function partitionOf(): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ partition: string; n: number }>(
    "SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM shadow_events GROUP BY 1",
  );
  return Object.fromEntries(rows.map((r) => [r.partition, r.n]));
}

async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>, commit = true): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query(commit ? "COMMIT" : "ROLLBACK");
    return result;
  } finally {
    client.release();
  }
}

describe("timeseries on plain PostgreSQL", () => {
  it("detects the partitioned layout", async () => {
    expect(await detectTimeseriesMode(pool)).toBe("partitioned");
  });

  it("stores every field of an event as given", async () => {
    const payload = { state: { led: "on", note: 'quote " and \\ back' }, emoji: "🚀", n: null };
    await insertShadowEvents(pool, [
      event(at(0, 1234), "rejected", {
        deviceId: "dev-fields",
        deviceTime: new Date(at(0, 1234).getTime() - 2500),
        kind: "sync_request",
        code: "STALE_VERSION",
        seq: 9_007_199_254_740_993n,
        version: 7,
        acceptedVersion: 6,
        clockSkewSec: 2.5,
        payload,
      }),
      event(at(0, 1235), "info", { deviceId: "dev-fields", kind: "status" }),
    ]);
    const { rows } = await pool.query(
      `SELECT device_time, server_time, kind, outcome, code, seq::text AS seq, version, accepted_version, clock_skew_sec, payload
       FROM shadow_events WHERE device_id = 'dev-fields' ORDER BY server_time`,
    );
    expect(rows).toEqual([
      {
        server_time: at(0, 1234),
        device_time: new Date(at(0, 1234).getTime() - 2500),
        kind: "sync_request",
        outcome: "rejected",
        code: "STALE_VERSION",
        seq: "9007199254740993",
        version: 7,
        accepted_version: 6,
        clock_skew_sec: 2.5,
        payload,
      },
      {
        server_time: at(0, 1235),
        device_time: null,
        kind: "status",
        outcome: "info",
        code: null,
        seq: null,
        version: null,
        accepted_version: null,
        clock_skew_sec: null,
        payload: null,
      },
    ]);
    await pool.query("DELETE FROM shadow_events WHERE device_id = 'dev-fields'");
  });

  it("routes events by UTC day and moves stranded rows when their partition is created", async () => {
    await ensurePartitions(pool, { now });
    // Two days back has no partition yet: those rows land in the default one.
    await insertShadowEvents(pool, [at(-2), at(-2, 1), at(-1), at(0), at(0, DAY - 1), at(1, 0)].map((t) => event(t)));
    expect(await partitionOf()).toEqual({
      shadow_events_default: 3,
      [partitionForDay(at(0)).name]: 2,
      [partitionForDay(at(1)).name]: 1,
    });

    const created = await ensurePartitions(pool, { now: at(-2), daysAhead: 1 });
    expect(created).toEqual([partitionForDay(at(-2)).name, partitionForDay(at(-1)).name]);
    expect(await partitionOf()).toEqual({
      [partitionForDay(at(-2)).name]: 2,
      [partitionForDay(at(-1)).name]: 1,
      [partitionForDay(at(0)).name]: 2,
      [partitionForDay(at(1)).name]: 1,
    });
    // The moved partition carries the parent's index like the others.
    const { rows } = await pool.query("SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass", [partitionForDay(at(-2)).name]);
    expect(rows).toHaveLength(1);
  });

  it("creates partitions ahead once, however many workers ask at the same time", async () => {
    const results = await Promise.all([1, 2, 3].map(() => ensurePartitions(pool, { now, daysAhead: 6 })));
    const created = results.flat().sort();
    expect(created).toEqual([4, 5, 6].map((d) => partitionForDay(at(d)).name));
    expect(await ensurePartitions(pool, { now, daysAhead: 6 })).toEqual([]);
  });

  it("counts accepted, duplicate and rejected events per UTC minute, only when committed", async () => {
    const minute = new Date(Math.floor(at(0).getTime() / 60_000) * 60_000);
    const next = new Date(minute.getTime() + 60_000);
    const batch = [
      event(new Date(minute.getTime() + 1_000)),
      event(new Date(minute.getTime() + 59_999), "duplicate"),
      event(new Date(minute.getTime() + 30_000), "rejected", { code: "BAD_SEQ" }),
      event(new Date(minute.getTime() + 30_001), "info", { kind: "status" }),
      event(next),
    ];
    await inTransaction(async (client) => {
      await insertShadowEvents(client, batch);
      await bumpRollups(client, batch);
    });
    await inTransaction(async (client) => {
      await insertShadowEvents(client, batch);
      await bumpRollups(client, batch);
    }, false);
    await inTransaction((client) => bumpRollups(client, [event(minute), event(minute, "rejected")]));

    expect(await readRollups(pool, minute, new Date(next.getTime() + 60_000))).toEqual([
      { bucket: minute, accepted: 2, duplicate: 1, rejected: 2 },
      { bucket: next, accepted: 1, duplicate: 0, rejected: 0 },
    ]);
  });

  it("drops whole days past retention and old rows stranded in the default partition", async () => {
    await insertShadowEvents(pool, [event(at(-400))]);
    expect((await partitionOf()).shadow_events_default).toBe(1);

    const dropped = await dropPartitionsOlderThan(pool, 1, now);
    // Yesterday's partition still holds rows younger than a day, so it stays.
    expect(dropped).toEqual([partitionForDay(at(-2)).name]);
    const left = await partitionOf();
    expect(left[partitionForDay(at(-2)).name]).toBeUndefined();
    expect(left[partitionForDay(at(-1)).name]).toBe(1);
    expect(left.shadow_events_default).toBeUndefined();
    expect(await dropPartitionsOlderThan(pool, 1, now)).toEqual([]);
  });
});
