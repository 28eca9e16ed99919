// Writes of the ingest: one call per batch, ONE statement (batch-sql.ts), set-
// based. Every shadow row touched is guarded by the version and lastSeq the
// decisions were made against, so two workers can never corrupt a shadow: a
// mismatch writes nothing, raises ShadowConflict and the batch is decided again.
import type pg from "pg";
import { detectTimeseriesMode, type ShadowEvent } from "@/server/db/timeseries.ts";
import { batchParams, batchStatement } from "./batch-sql.ts";
import type { Finding, FindingKind } from "./clock-rules.ts";
import type { ShadowState } from "./rules.ts";

export class ShadowConflict extends Error {
  constructor(readonly deviceIds: string[]) {
    super(`shadow changed underneath the batch for ${deviceIds.length} device(s)`);
  }
}

export type ShadowWrite = {
  deviceId: string;
  expected: { version: number; lastSeq: number | null };
  /** The new state, or null when only presence changes. */
  next: ShadowState | null;
  /** Whether next.desired differs from the stored one (only then is it written). */
  desiredChanged: boolean;
  lastSeenAt: Date;
  online: boolean | null;
  deviceClockAt: Date | null;
  clockSkewSec: number | null;
  /** Set when the reported firmware version changed. */
  firmwareVersion: string | null;
};

export type FindingWrite = { deviceId: string; finding: Finding; at: Date };
export type FindingCheck = { deviceId: string; kinds: FindingKind[] };

/** An accepted update's replay key (ReplayKey of rules.ts, with its device). */
export type ReplayKeyWrite = { deviceId: string; s: number; v: number; t: number; a: number };

export type BatchWrite = { events: ShadowEvent[]; shadows: ShadowWrite[]; replayKeys: ReplayKeyWrite[]; findings: FindingWrite[]; checked: FindingCheck[] };

const PRUNE_LOCK = 0x7072_756e; // "prun": one worker prunes at a time

/**
 * Drops replay keys that fell out of their device's window (housekeeping, not
 * the hot path), on one connection (it holds the lock). Device by device range,
 * `devicesPerStatement` at a time, each its own short transaction with a breath
 * between them: one statement over a
 * whole fleet would delete millions of rows in one go (seconds of WAL and I/O
 * the ingest would queue behind). Returns the keys dropped, or null when
 * another worker is pruning now.
 */
export async function pruneReplayKeys(
  pool: pg.Pool,
  window: number,
  { devicesPerStatement = 2000, pauseMs = 20 }: { devicesPerStatement?: number; pauseMs?: number } = {},
): Promise<number | null> {
  const lock = await pool.connect();
  let removed = 0;
  let broken: Error | undefined;
  try {
    const { rows } = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [PRUNE_LOCK]);
    if (!rows[0]?.ok) return null;
    try {
      for (let after = ""; ; ) {
        const { rows: [chunk] } = await lock.query<{ last: string | null; deleted: number }>(
          `WITH d AS MATERIALIZED (
             SELECT device_id, last_seq FROM device_shadows WHERE device_id > $2 ORDER BY device_id LIMIT $3
           ),
           gone AS (
             DELETE FROM shadow_replay_keys k USING d WHERE k.device_id = d.device_id AND k.seq < d.last_seq - $1 RETURNING 1
           )
           SELECT (SELECT max(device_id) FROM d) AS last, (SELECT count(*) FROM gone)::int AS deleted`,
          [window, after, devicesPerStatement],
        );
        if (!chunk?.last) break;
        removed += chunk.deleted;
        after = chunk.last;
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    } finally {
      // If this fails, the connection is closed below, which ends the lock too.
      await lock.query("SELECT pg_advisory_unlock($1)", [PRUNE_LOCK]).catch((err: Error) => (broken ??= err));
    }
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    lock.release(broken); // a connection that failed may still hold the lock: it is closed, not reused
  }
  return removed;
}

// A named statement is parsed and planned once per connection, which saves the database a
// few milliseconds per batch. PgBouncer in transaction mode before 1.21 (or without
// max_prepared_statements) does not keep them: then every batch goes unnamed.
let namedStatements = true;
const PREPARED_STATEMENT_ERRORS = new Set(["26000", "42P05"]); // does not exist, already exists

/** A batch's write, encoded ahead of time so that it can go out the moment the previous one committed. */
export type IngestWrite = { name: string; text: string; values: unknown[]; shadows: string[]; empty: boolean };

/** Whether the ingest keeps the per-minute rollups itself (plain PostgreSQL), as server/db/timeseries.ts knows. */
export async function ingestKeepsRollups(db: pg.Pool | pg.PoolClient): Promise<boolean> {
  return (await detectTimeseriesMode(db)) === "partitioned";
}

export function prepareIngestWrite(batch: BatchWrite, rollups: boolean): IngestWrite {
  return {
    // Named: each connection parses and plans the statement once.
    name: rollups ? "fleetwave_ingest_batch_r" : "fleetwave_ingest_batch",
    text: batchStatement(rollups),
    values: batchParams(batch),
    shadows: batch.shadows.map((w) => w.deviceId),
    empty: batch.shadows.length === 0 && batch.events.length === 0,
  };
}

/**
 * Runs a prepared write. On a pool it runs in autocommit: when the promise
 * resolves, the batch is committed; when it rejects, nothing of it is (unless
 * the connection broke after the COMMIT: then a redelivery is a duplicate).
 */
export async function runIngestWrite(db: pg.Pool | pg.PoolClient, write: IngestWrite): Promise<void> {
  if (write.empty) return;
  type Result = { go: boolean; stale: string[] | null; written: number };
  let rows: Result[];
  try {
    ({ rows } = await db.query<Result>(namedStatements ? { name: write.name, text: write.text, values: write.values } : { text: write.text, values: write.values }));
  } catch (err) {
    // The statement did not run: a pooler between us and the server lost or shares prepared statements.
    if (!namedStatements || !PREPARED_STATEMENT_ERRORS.has((err as { code?: string }).code ?? "")) throw err;
    namedStatements = false;
    console.warn(`[ingest] prepared statements are not kept by the connection (${(err as Error).message}): planning each batch from now on`);
    ({ rows } = await db.query<Result>({ text: write.text, values: write.values }));
  }
  const result = rows[0];
  if (!result?.go) throw new ShadowConflict(result?.stale ?? write.shadows);
  // Cannot happen (every row was locked and checked by the same statement), and the batch is committed by now.
  if (result.written !== write.shadows.length) console.error(`[ingest] only ${result.written} of ${write.shadows.length} shadows were written`);
}

/** Everything a batch changes, atomically (see runIngestWrite). */
export async function writeIngestBatch(db: pg.Pool | pg.PoolClient, batch: BatchWrite): Promise<void> {
  await runIngestWrite(db, prepareIngestWrite(batch, await ingestKeepsRollups(db)));
}
