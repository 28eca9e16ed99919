// Storage of shadow events and their per-minute rollups. The migration
// 0002_shadow_events picked one of two layouts for the database (a TimescaleDB
// hypertable with a continuous aggregate, or daily range partitions with a
// rollup table kept by the ingest); this is the only module that knows which,
// so the ingest, the worker's housekeeping and the charts call the same
// functions on both.
import pg from "pg";

export type TimeseriesMode = "timescale" | "partitioned";

export type ShadowEventKind = "update" | "get" | "sync_request" | "sync_complete" | "status";
export type ShadowEventOutcome = "accepted" | "duplicate" | "rejected" | "info";

export type ShadowEvent = {
  deviceId: string;
  serverTime: Date;
  deviceTime?: Date | null;
  kind: ShadowEventKind;
  outcome: ShadowEventOutcome;
  /** Rejection code, for outcome "rejected". */
  code?: string | null;
  seq?: bigint | number | null;
  version?: number | null;
  acceptedVersion?: number | null;
  clockSkewSec?: number | null;
  payload?: unknown;
};

export type RollupBucket = { bucket: Date; accepted: number; duplicate: number; rejected: number };

type Db = pg.Pool | pg.PoolClient;

const DAY_MS = 86_400_000;
// Serialises partition DDL across worker processes (creation and retention).
const PARTITION_LOCK_KEY = 0x466c7770; // "Flwp"

// A database's layout never changes after its migration, so one answer per
// pool or pooled connection holds for its lifetime.
const modeCache = new WeakMap<Db, TimeseriesMode>();

export async function detectTimeseriesMode(db: Db): Promise<TimeseriesMode> {
  const cached = modeCache.get(db);
  if (cached) return cached;
  const { rows } = await db.query<{ table_exists: boolean; timescale: boolean }>(
    `SELECT to_regclass('shadow_events') IS NOT NULL AS table_exists,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS timescale`,
  );
  const found = rows[0];
  if (!found?.table_exists) throw new Error("shadow_events does not exist: run the migrations first (npm run db:migrate)");
  let mode: TimeseriesMode = "partitioned";
  if (found.timescale) {
    // Installed is not enough: the table may predate the extension.
    const hyper = await db.query<{ is_hypertable: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                      WHERE hypertable_name = 'shadow_events' AND hypertable_schema = current_schema()) AS is_hypertable`,
    );
    if (hyper.rows[0]?.is_hypertable) mode = "timescale";
  }
  modeCache.set(db, mode);
  return mode;
}

/** The daily partition holding `at`: UTC days, whatever the process's TZ. */
export function partitionForDay(at: Date): { name: string; from: string; to: string } {
  const start = Math.floor(at.getTime() / DAY_MS) * DAY_MS;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return {
    name: `shadow_events_p${day(start).replace(/-/g, "")}`,
    from: `${day(start)} 00:00:00+00`,
    to: `${day(start + DAY_MS)} 00:00:00+00`,
  };
}

async function existingPartitions(db: Db): Promise<Set<string>> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'shadow_events'::regclass`,
  );
  return new Set(rows.map((row) => row.name));
}

async function inPartitionLock<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK_KEY]);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Creates the daily partitions from today to `daysAhead` days ahead (UTC) and
 * returns the names it created. The worker calls this periodically; any number
 * of workers may call it at once.
 *
 * Rows that arrived while a day had no partition sit in the default partition,
 * and PostgreSQL refuses a new partition whose range the default still holds
 * rows for. So a partition is built detached, those rows are moved into it and
 * it is attached, all in one transaction with the default partition locked, so
 * no row can slip into the default in between. Normally the default is empty
 * and this costs a scan of nothing.
 */
export async function ensurePartitions(pool: pg.Pool, { daysAhead = 3, now = new Date() } = {}): Promise<string[]> {
  if ((await detectTimeseriesMode(pool)) === "timescale") return [];
  const wanted = Array.from({ length: daysAhead + 1 }, (_, i) => partitionForDay(new Date(now.getTime() + i * DAY_MS)));
  const present = await existingPartitions(pool);
  const created: string[] = [];
  for (const part of wanted.filter((p) => !present.has(p.name))) {
    const made = await inPartitionLock(pool, async (client) => {
      if ((await existingPartitions(client)).has(part.name)) return false; // another worker won
      const table = pg.escapeIdentifier(part.name);
      const [from, to] = [pg.escapeLiteral(part.from), pg.escapeLiteral(part.to)];
      await client.query("LOCK TABLE shadow_events_default IN ACCESS EXCLUSIVE MODE");
      await client.query(`CREATE TABLE ${table} (LIKE shadow_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await client.query(
        `WITH moved AS (DELETE FROM shadow_events_default WHERE server_time >= ${from} AND server_time < ${to} RETURNING *)
         INSERT INTO ${table} SELECT * FROM moved`,
      );
      await client.query(`ALTER TABLE shadow_events ATTACH PARTITION ${table} FOR VALUES FROM (${from}) TO (${to})`);
      return true;
    });
    if (made) created.push(part.name);
  }
  return created;
}

/**
 * Retention on plain PostgreSQL: drops the daily partitions whose whole day
 * is older than `days` days, and old rows stranded in the default partition.
 * Rollups are kept (a row a minute), as the continuous aggregate keeps them on
 * TimescaleDB, where the retention policy does this job instead.
 */
export async function dropPartitionsOlderThan(pool: pg.Pool, days: number, now = new Date()): Promise<string[]> {
  if ((await detectTimeseriesMode(pool)) === "timescale") return [];
  const cutoff = now.getTime() - days * DAY_MS;
  const expired = [...(await existingPartitions(pool))].filter((name) => {
    const match = /^shadow_events_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    return match !== null && Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!) + DAY_MS <= cutoff;
  });
  for (const name of expired.sort()) {
    await inPartitionLock(pool, (client) => client.query(`DROP TABLE IF EXISTS ${pg.escapeIdentifier(name)}`));
  }
  await pool.query("DELETE FROM shadow_events_default WHERE server_time < $1", [new Date(cutoff).toISOString()]);
  return expired;
}

function nullable<T, R>(value: T | null | undefined, map: (v: T) => R): R | null {
  return value === null || value === undefined ? null : map(value);
}

/** The columns of shadow_events every writer fills, in this order. */
export const SHADOW_EVENT_COLUMNS =
  "device_id, server_time, device_time, kind, outcome, code, seq, version, accepted_version, clock_skew_sec, payload";

/**
 * The per-minute counts upsert (plain PostgreSQL) over `source`, a query of
 * (server time, outcome) rows without the `info` ones. Buckets are upserted in
 * time order, so concurrent writers lock them in the same order and cannot
 * deadlock on each other.
 */
export function rollupUpsertSql(source: string): string {
  return `INSERT INTO shadow_events_1m AS r (bucket, accepted, duplicate, rejected)
     SELECT date_trunc('minute', u.t, 'UTC'),
            count(*) FILTER (WHERE u.o = 'accepted'), count(*) FILTER (WHERE u.o = 'duplicate'), count(*) FILTER (WHERE u.o = 'rejected')
       FROM (${source}) AS u(t, o)
      GROUP BY 1 ORDER BY 1
     ON CONFLICT (bucket) DO UPDATE
       SET accepted = r.accepted + EXCLUDED.accepted, duplicate = r.duplicate + EXCLUDED.duplicate, rejected = r.rejected + EXCLUDED.rejected`;
}

/**
 * Writes a batch in one statement (arrays unnested server-side), so a batch
 * costs one round trip whatever its size. Run it in the ingest transaction,
 * next to bumpRollups.
 */
export async function insertShadowEvents(db: Db, rows: readonly ShadowEvent[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await db.query(
    `INSERT INTO shadow_events (${SHADOW_EVENT_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
                          $7::bigint[], $8::integer[], $9::integer[], $10::real[], $11::jsonb[])`,
    [
      rows.map((r) => r.deviceId),
      rows.map((r) => r.serverTime.toISOString()),
      rows.map((r) => nullable(r.deviceTime, (d) => d.toISOString())),
      rows.map((r) => r.kind),
      rows.map((r) => r.outcome),
      rows.map((r) => r.code ?? null),
      rows.map((r) => nullable(r.seq, String)),
      rows.map((r) => r.version ?? null),
      rows.map((r) => r.acceptedVersion ?? null),
      rows.map((r) => r.clockSkewSec ?? null),
      rows.map((r) => nullable(r.payload, (p) => JSON.stringify(p))),
    ],
  );
  return result.rowCount ?? rows.length;
}

/**
 * Adds a batch to the per-minute counts on plain PostgreSQL (the continuous
 * aggregate does it on TimescaleDB). Call it in the same transaction as
 * insertShadowEvents so that a rolled-back batch is not counted.
 */
export async function bumpRollups(db: Db, rows: readonly Pick<ShadowEvent, "serverTime" | "outcome">[]): Promise<void> {
  const counted = rows.filter((r) => r.outcome !== "info");
  if (counted.length === 0 || (await detectTimeseriesMode(db)) === "timescale") return;
  await db.query(
    rollupUpsertSql("SELECT * FROM unnest($1::timestamptz[], $2::text[])"),
    [counted.map((r) => r.serverTime.toISOString()), counted.map((r) => r.outcome)],
  );
}

/** Per-minute counts in [from, to), oldest first; the same query serves both layouts. */
export async function readRollups(db: Db, from: Date, to: Date): Promise<RollupBucket[]> {
  const { rows } = await db.query<RollupBucket>(
    `SELECT bucket, accepted::int AS accepted, duplicate::int AS duplicate, rejected::int AS rejected
     FROM shadow_events_1m WHERE bucket >= $1 AND bucket < $2 ORDER BY bucket`,
    [from.toISOString(), to.toISOString()],
  );
  return rows;
}
