// Fresh databases for the benchmark (server/db/test-database.ts, on the
// machine's PostgreSQL), device registration through the product's own
// importDevices, and the server-side counters the report needs.
import pg from "pg";
import { disconnectDb } from "@/server/db/client.ts";
import { createTestDatabase, testAdminUrl, type TestDatabase } from "@/server/db/test-database.ts";
import { importDevices } from "@/server/devices/mutations.ts";
import type { ManifestRow } from "@/server/devices/rules.ts";
import { onCleanup } from "./proc.ts";

export const DEVICE_FIRMWARE = "1.0.0";

export function deviceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench-${String(i + 1).padStart(6, "0")}`);
}

/** A migrated database with `ids` registered; dropped at cleanup. */
export async function createBenchDatabase(ids: string[]): Promise<TestDatabase> {
  const db = await createTestDatabase();
  onCleanup(`drop database ${db.name}`, () => db.drop());
  // The product's Prisma client is a per-process singleton bound to DATABASE_URL.
  await disconnectDb();
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = db.url;
  try {
    const rows: ManifestRow[] = ids.map((id, i) => ({
      line: i + 2,
      id,
      type: "bench-sensor",
      hardwareVersion: "rev-a",
      region: "eu-west",
      firmwareVersion: DEVICE_FIRMWARE,
      tags: ["bench"],
    }));
    const result = await importDevices(rows, [], { type: "cli", id: null, label: "bench" }, { fileName: "bench" });
    if (result.created !== ids.length) throw new Error(`importDevices created ${result.created} of ${ids.length} devices`);
  } finally {
    await disconnectDb();
    if (previous === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previous;
  }
  return db;
}

/**
 * Server-wide statistics, read over the admin connection (not the bench
 * database's own), so reading them adds no transaction to the database measured.
 */
export class PgStats {
  private readonly client = new pg.Client({ connectionString: testAdminUrl(), application_name: "fleetwave-bench-stats" });
  private connected = false;

  async connect() {
    await this.client.connect();
    this.connected = true;
    onCleanup("pg stats connection", () => this.end());
  }

  async end() {
    if (this.connected) {
      this.connected = false;
      await this.client.end().catch(() => undefined);
    }
  }

  async version(): Promise<string> {
    const { rows } = await this.client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return rows[0]!.v;
  }

  /** Committed transactions of one database so far (pg_stat_database.xact_commit). */
  async xactCommit(database: string): Promise<number> {
    // A fresh snapshot each call (stats_fetch_consistency may cache within a transaction).
    await this.client.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await this.client.query<{ n: string }>("SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1", [database]);
    return Number(rows[0]?.n ?? 0);
  }

  /** Backend processes connected to a database (for CPU accounting). */
  async backendPids(database: string): Promise<number[]> {
    const { rows } = await this.client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]);
    return rows.map((r) => r.pid);
  }

  async count(url: string, sql: string): Promise<number> {
    const c = new pg.Client({ connectionString: url, application_name: "fleetwave-bench-check" });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string }>(sql);
      return Number(rows[0]?.n ?? 0);
    } finally {
      await c.end();
    }
  }

  /** Checkpoints so far (server-wide): a checkpoint's writes and fsyncs can stall commits. */
  async checkpoints(): Promise<number> {
    await this.client.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await this.client.query<{ n: string }>("SELECT (checkpoints_timed + checkpoints_req)::text AS n FROM pg_stat_bgwriter");
    return Number(rows[0]?.n ?? 0);
  }

  async settings(): Promise<Record<string, string>> {
    const { rows } = await this.client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'shared_buffers', 'fsync', 'wal_level', 'max_connections', 'checkpoint_timeout', 'max_wal_size')`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  }
}

export const AGED_VERSION = 100;

/**
 * Puts every shadow in the state a device has after 100 accepted updates:
 * version and lastSeq 100, the replay window full (100 keys, PROTOCOL.md step
 * 3), the last 10 changes kept for delta syncs, a reported and a desired
 * document. A fresh shadow has none of it, and writing it back each batch is
 * a large part of the ingest's cost, so a bench on fresh shadows flatters it.
 */
export async function ageShadows(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, application_name: "fleetwave-bench-age" });
  await c.connect();
  try {
    const now = Math.floor(Date.now() / 1000);
    await c.query(
      `UPDATE device_shadows SET
         version = $1::int, last_seq = $1::int,
         changes = (SELECT jsonb_agg(jsonb_build_object('v', i, 'reported', jsonb_build_object('temperature', 21.5, 'rssi', -55)) ORDER BY i)
                      FROM generate_series($1::int - 9, $1::int) i),
         reported = jsonb_build_object('temperature', 21.5, 'rssi', -55, 'power', 'ON', 'firmware', jsonb_build_object('version', $3::text, 'status', 'idle')),
         desired = jsonb_build_object('firmware', jsonb_build_object('version', $3::text, 'url', 'https://fleetwave.example/fw/1.0.0?sig=' || md5(device_id),
                                      'sha256', encode(sha256(device_id::bytea), 'hex'), 'size', 1048576)),
         metadata = jsonb_build_object(
           'reported', jsonb_build_object('temperature', jsonb_build_object('timestamp', $2::bigint), 'rssi', jsonb_build_object('timestamp', $2::bigint),
                                          'power', jsonb_build_object('timestamp', $2::bigint),
                                          'firmware', jsonb_build_object('version', jsonb_build_object('timestamp', $2::bigint), 'status', jsonb_build_object('timestamp', $2::bigint))),
           'desired', jsonb_build_object('firmware', jsonb_build_object('version', jsonb_build_object('timestamp', $2::bigint), 'url', jsonb_build_object('timestamp', $2::bigint),
                                         'sha256', jsonb_build_object('timestamp', $2::bigint), 'size', jsonb_build_object('timestamp', $2::bigint)))),
         online = true, last_seen_at = now()`,
      [AGED_VERSION, now, DEVICE_FIRMWARE],
    );
    // The full replay window: the last 100 accepted keys of every device.
    await c.query(
      `INSERT INTO shadow_replay_keys (device_id, seq, version, device_time, accepted_version)
       SELECT s.device_id, i, i, $2::bigint - 86400 + i * 60, i FROM device_shadows s, generate_series(1, $1::int) i
       ON CONFLICT DO NOTHING`,
      [AGED_VERSION, now],
    );
    await c.query("VACUUM ANALYZE device_shadows");
    await c.query("VACUUM ANALYZE shadow_replay_keys");
  } finally {
    await c.end();
  }
}
