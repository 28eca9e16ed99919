// Writes of the ingest: one call per batch, inside the batch's transaction,
// all set-based. Every shadow row touched is guarded by the version and lastSeq
// the decisions were made against, so two workers can never corrupt a shadow:
// a mismatch raises ShadowConflict and the batch is decided again.
import type pg from "pg";
import { bumpRollups, insertShadowEvents, type ShadowEvent } from "@/server/db/timeseries.ts";
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

async function writeReplayKeys(client: pg.PoolClient, keys: ReplayKeyWrite[]) {
  if (keys.length === 0) return;
  await client.query(
    `INSERT INTO shadow_replay_keys (device_id, seq, version, device_time, accepted_version)
     SELECT device_id, s, v, t, a FROM jsonb_to_recordset($1::jsonb) AS k(device_id text, s bigint, v int, t double precision, a int)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(keys.map((k) => ({ device_id: k.deviceId, s: k.s, v: k.v, t: k.t, a: k.a })))],
  );
}

/** Drops replay keys that fell out of their device's window (housekeeping, not the hot path). */
export async function pruneReplayKeys(pool: pg.Pool, window: number): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM shadow_replay_keys k USING device_shadows s
      WHERE k.device_id = s.device_id AND k.seq < s.last_seq - $1`,
    [window],
  );
  return rowCount ?? 0;
}

const json = (v: unknown) => JSON.stringify(v);

async function writeShadows(client: pg.PoolClient, writes: ShadowWrite[]) {
  if (writes.length === 0) return;
  // Lock the rows in one global order first (as applyDesiredChanges does): the UPDATE below
  // locks them in whatever order its plan visits them (unnest order or heap order), so two
  // workers writing overlapping devices could deadlock each other and fail their batches.
  await client.query(`SELECT 1 FROM device_shadows WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE`, [writes.map((w) => w.deviceId)]);
  // The whole batch goes as ONE jsonb parameter: node-postgres's text[] escaping
  // (two regex passes per element) cost more CPU than everything else in a batch.
  const rowsParam = JSON.stringify(
    writes.map((w) => ({
      device_id: w.deviceId,
      expected_version: w.expected.version,
      expected_last_seq: w.expected.lastSeq,
      changed: w.next !== null,
      version: w.next?.version ?? null,
      last_seq: w.next?.lastSeq ?? null,
      reported: w.next?.reported ?? null,
      // Unchanged desired documents are not sent back (most updates only report).
      desired: w.next && w.desiredChanged ? w.next.desired : null,
      metadata: w.next?.metadata ?? null,
      changes: w.next?.changes ?? null,
      online: w.online,
      last_seen_at: w.lastSeenAt,
      device_clock_at: w.deviceClockAt,
      clock_skew_sec: w.clockSkewSec,
    })),
  );
  const { rows } = await client.query<{ device_id: string }>(
    `UPDATE device_shadows AS s SET
        version       = CASE WHEN u.changed THEN u.version ELSE s.version END,
        last_seq      = CASE WHEN u.changed THEN u.last_seq ELSE s.last_seq END,
        reported      = CASE WHEN u.changed THEN u.reported ELSE s.reported END,
        desired       = COALESCE(u.desired, s.desired),
        metadata      = CASE WHEN u.changed THEN u.metadata ELSE s.metadata END,
        changes       = CASE WHEN u.changed THEN u.changes ELSE s.changes END,
        online        = COALESCE(u.online, s.online),
        last_seen_at  = GREATEST(s.last_seen_at, u.last_seen_at),
        device_clock_at = COALESCE(u.device_clock_at, s.device_clock_at),
        clock_skew_sec  = COALESCE(u.clock_skew_sec, s.clock_skew_sec),
        updated_at    = now()
       FROM jsonb_to_recordset($1::jsonb) AS u(
              device_id text, expected_version int, expected_last_seq bigint, changed boolean, version int, last_seq bigint,
              reported jsonb, desired jsonb, metadata jsonb, changes jsonb, online boolean,
              last_seen_at timestamptz, device_clock_at timestamptz, clock_skew_sec real)
      WHERE s.device_id = u.device_id AND s.version = u.expected_version
        AND s.last_seq IS NOT DISTINCT FROM u.expected_last_seq
      RETURNING s.device_id`,
    [rowsParam],
  );
  if (rows.length !== writes.length) {
    const written = new Set(rows.map((r) => r.device_id));
    throw new ShadowConflict(writes.filter((w) => !written.has(w.deviceId)).map((w) => w.deviceId));
  }
  const firmware = writes.filter((w) => w.firmwareVersion !== null);
  if (firmware.length > 0) {
    await client.query(
      `UPDATE devices AS d SET firmware_version = u.v, updated_at = now()
         FROM unnest($1::text[], $2::text[]) AS u(id, v) WHERE d.id = u.id AND d.firmware_version <> u.v`,
      [firmware.map((w) => w.deviceId), firmware.map((w) => w.firmwareVersion)],
    );
  }
}

async function writeFindings(client: pg.PoolClient, findings: FindingWrite[], checked: FindingCheck[]) {
  // One row per (device, kind) per statement: ON CONFLICT cannot touch a row twice.
  const merged = new Map<string, FindingWrite & { count: number }>();
  for (const f of findings) {
    const key = `${f.deviceId}\u0000${f.finding.kind}`;
    const prev = merged.get(key);
    merged.set(key, { ...f, count: (prev?.count ?? 0) + 1 });
  }
  const rows = [...merged.values()];
  if (rows.length > 0) {
    await client.query(
      `INSERT INTO device_findings (device_id, kind, severity, title, detail, count, first_seen_at, last_seen_at)
       SELECT device_id, kind, severity, title, detail::jsonb, count, at, at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[])
           AS u(device_id, kind, severity, title, detail, count, at)
       ON CONFLICT (device_id, kind) WHERE resolved_at IS NULL DO UPDATE
         SET count = device_findings.count + EXCLUDED.count, last_seen_at = EXCLUDED.last_seen_at,
             detail = EXCLUDED.detail, severity = EXCLUDED.severity`,
      [
        rows.map((r) => r.deviceId),
        rows.map((r) => r.finding.kind),
        rows.map((r) => r.finding.severity),
        rows.map((r) => r.finding.title),
        rows.map((r) => json(r.finding.detail)),
        rows.map((r) => r.count),
        rows.map((r) => r.at),
      ],
    );
  }
  // A check that came back clean resolves the open finding of that kind.
  const clean = checked.flatMap((c) => c.kinds.filter((k) => !merged.has(`${c.deviceId}\u0000${k}`)).map((k) => [c.deviceId, k] as const));
  if (clean.length > 0) {
    await client.query(
      `UPDATE device_findings AS f SET resolved_at = now()
         FROM unnest($1::text[], $2::text[]) AS u(device_id, kind)
        WHERE f.device_id = u.device_id AND f.kind = u.kind AND f.resolved_at IS NULL`,
      [clean.map(([d]) => d), clean.map(([, k]) => k)],
    );
  }
}

/** Everything a batch changes; the caller owns BEGIN/COMMIT. */
export async function writeIngestBatch(client: pg.PoolClient, batch: BatchWrite): Promise<void> {
  await writeShadows(client, batch.shadows);
  await writeReplayKeys(client, batch.replayKeys);
  await insertShadowEvents(client, batch.events);
  await bumpRollups(client, batch.events);
  await writeFindings(client, batch.findings, batch.checked);
}
