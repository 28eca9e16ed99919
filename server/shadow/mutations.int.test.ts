// The ingest's one-statement write (mutations.ts, batch-sql.ts) against a real
// database: all of a batch or nothing of it, the version gate, and two writers
// on the same devices at once.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnectDb } from "@/server/db/client.ts";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-database.ts";
import { importDevices } from "@/server/devices/mutations.ts";
import { decideBatch, type BatchMessage } from "./batch-rules.ts";
import { loadShadows } from "./data.ts";
import { pruneReplayKeys, ShadowConflict, writeIngestBatch } from "./mutations.ts";

const IDS = ["m-a", "m-b", "m-c", "m-d"];
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url; // importDevices uses the process's Prisma client
  const rows = IDS.map((id, i) => ({ line: i + 2, id, type: "gw-edge", hardwareVersion: "rev-a", region: "eu-west", firmwareVersion: "4.1.0", tags: [] }));
  await importDevices(rows, [], { type: "system", label: "mutations.int.test" }, {});
  pool = db.pool(4);
}, 60_000);

afterAll(async () => {
  await disconnectDb();
  await db?.drop();
});

const now = () => Date.now();
function update(id: string, n: number, extra: Record<string, unknown> = {}): BatchMessage {
  const body = { seq: n, version: n, deviceTime: now() / 1000 - 1000 * Number(id === "m-d"), state: { reported: { n, firmware: { version: `4.2.${n}`, status: "idle" } } }, ...extra };
  return { deviceId: id, suffix: "shadow/update", payload: Buffer.from(JSON.stringify(body)), receivedAt: now() };
}
async function decide(messages: BatchMessage[]) {
  const loaded = await loadShadows(pool, [...new Set(messages.map((m) => m.deviceId))]);
  return decideBatch(messages, loaded, new Map(), now());
}
const count = async (sql: string, params: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);
const events = () => count("SELECT count(*)::text AS n FROM shadow_events");

describe("writeIngestBatch", () => {
  it("writes a whole batch in one statement: shadows, firmware, replay keys, events, rollups, findings", async () => {
    const decision = await decide([update("m-a", 1), update("m-a", 2), update("m-d", 1), { ...update("m-b", 1), payload: Buffer.from("{oops") }]);
    await writeIngestBatch(pool, decision);
    const shadows = await loadShadows(pool, ["m-a", "m-b", "m-d"]);
    expect(shadows.get("m-a")!.state).toMatchObject({ version: 2, lastSeq: 2, reported: { n: 2, firmware: { version: "4.2.2" } } });
    const { recentKeys: _stored, ...state } = shadows.get("m-a")!.state;
    const { recentKeys: _decided, ...decided } = decision.changed.get("m-a")!;
    expect(state).toEqual(decided);
    expect(shadows.get("m-a")!.state.recentKeys.map((k) => k.a)).toEqual([1, 2]);
    expect(shadows.get("m-b")!.state.version).toBe(0);
    const { rows } = await pool.query("SELECT id, firmware_version FROM devices WHERE id = ANY($1) ORDER BY id", [["m-a", "m-d"]]);
    expect(rows).toEqual([{ id: "m-a", firmware_version: "4.2.2" }, { id: "m-d", firmware_version: "4.2.1" }]);
    const stored = await pool.query("SELECT device_id, outcome, code, seq::int, accepted_version, payload FROM shadow_events ORDER BY device_id, seq");
    expect(stored.rows).toMatchObject([
      { device_id: "m-a", outcome: "accepted", seq: 1, accepted_version: 1, payload: { seq: 1, state: { reported: { n: 1 } } } },
      { device_id: "m-a", outcome: "accepted", seq: 2, accepted_version: 2 },
      { device_id: "m-b", outcome: "rejected", code: "invalid_payload", payload: { invalidJson: "{oops" } },
      { device_id: "m-d", outcome: "accepted", seq: 1 },
    ]);
    expect(await count("SELECT sum(accepted + rejected)::text AS n FROM shadow_events_1m")).toBe(4);
    expect(await count("SELECT count(*)::text AS n FROM device_findings WHERE device_id = 'm-d' AND kind = 'clock_drift' AND resolved_at IS NULL")).toBe(1);
  });

  it("writes nothing at all when a shadow moved on since the decision, and names it", async () => {
    const stale = await decide([update("m-a", 3), update("m-c", 1)]);
    await writeIngestBatch(pool, await decide([update("m-c", 1)])); // another writer got there first
    const before = { events: await events(), keys: await count("SELECT count(*)::text AS n FROM shadow_replay_keys") };
    const err = await writeIngestBatch(pool, stale).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShadowConflict);
    expect((err as ShadowConflict).deviceIds).toEqual(["m-c"]);
    expect(await events()).toBe(before.events);
    expect(await count("SELECT count(*)::text AS n FROM shadow_replay_keys")).toBe(before.keys);
    expect((await loadShadows(pool, ["m-a"])).get("m-a")!.state.version).toBe(2); // m-a matched, but nothing of the batch is written
  });

  it("lets two writers race on the same devices without a deadlock: one commits, the other conflicts", async () => {
    const ids = ["m-a", "m-b", "m-c"];
    for (let round = 0; round < 5; round++) {
      const current = await loadShadows(pool, ids);
      const next = ids.map((id) => update(id, current.get(id)!.state.version + 1, { seq: (current.get(id)!.state.lastSeq ?? 0) + 1 }));
      // The same devices in opposite orders: the rows are locked in device-id order all the same.
      const [a, b] = await Promise.all([decide(next), decide([...next].reverse())]);
      const results = await Promise.allSettled([writeIngestBatch(pool, a), writeIngestBatch(pool, b)]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(ShadowConflict);
    }
    const after = await loadShadows(pool, ids);
    expect(ids.map((id) => after.get(id)!.state.version)).toEqual([7, 5, 6]);
    expect(await count("SELECT count(*)::text AS n FROM shadow_events WHERE device_id = 'm-a' AND outcome = 'accepted'")).toBe(7);
  });
});

describe("pruneReplayKeys", () => {
  it("drops exactly the keys outside each device's window, a few devices per statement", async () => {
    const ids = ["p-a", "p-b", "p-c"];
    const rows = ids.map((id, i) => ({ line: i + 2, id, type: "gw-edge", hardwareVersion: "rev-a", region: "eu-west", firmwareVersion: "4.1.0", tags: [] }));
    await importDevices(rows, [], { type: "system", label: "mutations.int.test" }, {});
    const lastSeq: Record<string, number> = { "p-a": 250, "p-b": 120, "p-c": 50 };
    for (const id of ids) {
      await pool.query("UPDATE device_shadows SET last_seq = $2 WHERE device_id = $1", [id, lastSeq[id]]);
      await pool.query(
        `INSERT INTO shadow_replay_keys (device_id, seq, version, device_time, accepted_version)
         SELECT $1, i, i, 1700000000 + i, i FROM generate_series(1, $2::int) i`,
        [id, lastSeq[id]],
      );
    }
    const removed = await pruneReplayKeys(pool, 100, { devicesPerStatement: 2, pauseMs: 0 });
    // p-a keeps 150..250, p-b keeps 20..120, p-c keeps all 50.
    expect(removed).toBeGreaterThanOrEqual(149 + 19);
    const kept = await pool.query<{ device_id: string; min: number; n: number }>(
      "SELECT device_id, min(seq)::int AS min, count(*)::int AS n FROM shadow_replay_keys WHERE device_id = ANY($1) GROUP BY 1 ORDER BY 1",
      [ids],
    );
    expect(kept.rows).toEqual([
      { device_id: "p-a", min: 150, n: 101 },
      { device_id: "p-b", min: 20, n: 101 },
      { device_id: "p-c", min: 1, n: 50 },
    ]);
    expect(await pruneReplayKeys(pool, 100, { devicesPerStatement: 2, pauseMs: 0 })).toBe(0);
  });

  it("leaves the work to the worker already pruning", async () => {
    const other = await pool.connect();
    try {
      await other.query("SELECT pg_advisory_lock($1)", [0x7072_756e]);
      expect(await pruneReplayKeys(pool, 100)).toBeNull();
      await other.query("SELECT pg_advisory_unlock($1)", [0x7072_756e]);
      expect(await pruneReplayKeys(pool, 100)).toBe(0);
    } finally {
      other.release();
    }
  });
});
