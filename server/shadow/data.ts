// Reads of shadow state for the ingest (batched: one query per batch) and for
// the dashboard (device page).
import type pg from "pg";
import { SEQ_WINDOW, type Device, type ReplayKey, type ShadowState } from "./rules.ts";
import type { JsonObject, VersionChange } from "./document-rules.ts";

export type StoredShadow = {
  device: Device & { type: string; firmwareVersion: string };
  state: ShadowState;
  presence: { online: boolean; lastSeenAt: Date | null; deviceClockAt: Date | null; clockSkewSec: number | null };
};

type Row = {
  id: string;
  type: string;
  region: string;
  firmware_version: string;
  revoked: boolean;
  max_skew: number | null;
  version: number | null;
  last_seq: string | null;
  recent_keys: ReplayKey[] | null;
  reported: JsonObject | null;
  desired: JsonObject | null;
  metadata: { reported?: JsonObject; desired?: JsonObject } | null;
  changes: VersionChange[] | null;
  online: boolean | null;
  last_seen_at: Date | null;
  device_clock_at: Date | null;
  clock_skew_sec: number | null;
};

/** Registered devices among `ids` with their shadows; ids not returned are not registered. */
/**
 * `replayKeys: false` for writers that never decide a device's own update
 * (desired-state changes): the replay window is most of this query's cost.
 */
export async function loadShadows(db: pg.Pool | pg.PoolClient, ids: readonly string[], options: { replayKeys?: boolean } = {}): Promise<Map<string, StoredShadow>> {
  const out = new Map<string, StoredShadow>();
  if (ids.length === 0) return out;
  const replayKeys =
    options.replayKeys === false
      ? "NULL::jsonb"
      : `(SELECT jsonb_agg(jsonb_build_object('s', k.seq, 'v', k.version, 't', k.device_time, 'a', k.accepted_version) ORDER BY k.seq)
               FROM shadow_replay_keys k
              WHERE k.device_id = d.id AND k.seq >= COALESCE(s.last_seq, 0) - ${SEQ_WINDOW})`;
  const { rows } = await db.query<Row>(
    `SELECT d.id, d.type, d.region, d.firmware_version, d.revoked_at IS NOT NULL AS revoked, t.max_clock_skew_sec AS max_skew,
            s.version, s.last_seq::text AS last_seq,
            ${replayKeys} AS recent_keys,
            s.reported, s.desired, s.metadata, s.changes,
            s.online, s.last_seen_at, s.device_clock_at, s.clock_skew_sec
       FROM devices d
       LEFT JOIN device_shadows s ON s.device_id = d.id
       LEFT JOIN device_type_settings t ON t.type = d.type
      WHERE d.id = ANY($1::text[])`,
    [ids],
  );
  for (const r of rows) {
    out.set(r.id, {
      device: { registered: true, revoked: r.revoked, region: r.region, type: r.type, firmwareVersion: r.firmware_version, maxSkewSec: r.max_skew ?? undefined },
      state: {
        version: r.version ?? 0,
        lastSeq: r.last_seq === null ? null : Number(r.last_seq),
        recentKeys: r.recent_keys ?? [],
        reported: r.reported ?? {},
        desired: r.desired ?? {},
        metadata: { reported: r.metadata?.reported ?? {}, desired: r.metadata?.desired ?? {} },
        changes: r.changes ?? [],
      },
      presence: { online: r.online ?? false, lastSeenAt: r.last_seen_at, deviceClockAt: r.device_clock_at, clockSkewSec: r.clock_skew_sec },
    });
  }
  return out;
}

export type DeviceEventRow = {
  serverTime: Date;
  deviceTime: Date | null;
  kind: string;
  outcome: string;
  code: string | null;
  seq: number | null;
  version: number | null;
  acceptedVersion: number | null;
  clockSkewSec: number | null;
  payload: unknown;
};

/** A device's events, newest first; `before` pages back in time. */
export async function listDeviceEvents(db: pg.Pool, deviceId: string, opts: { before?: Date; limit: number; outcome?: string }): Promise<DeviceEventRow[]> {
  const { rows } = await db.query<{
    server_time: Date; device_time: Date | null; kind: string; outcome: string; code: string | null;
    seq: string | null; version: number | null; accepted_version: number | null; clock_skew_sec: number | null; payload: unknown;
  }>(
    `SELECT server_time, device_time, kind, outcome, code, seq::text AS seq, version, accepted_version, clock_skew_sec, payload
       FROM shadow_events
      WHERE device_id = $1 AND ($2::timestamptz IS NULL OR server_time < $2) AND ($3::text IS NULL OR outcome = $3)
      ORDER BY server_time DESC
      LIMIT $4`,
    [deviceId, opts.before ?? null, opts.outcome ?? null, opts.limit],
  );
  return rows.map((r) => ({
    serverTime: r.server_time,
    deviceTime: r.device_time,
    kind: r.kind,
    outcome: r.outcome,
    code: r.code,
    seq: r.seq === null ? null : Number(r.seq),
    version: r.version,
    acceptedVersion: r.accepted_version,
    clockSkewSec: r.clock_skew_sec,
    payload: r.payload,
  }));
}

export type OpenFinding = { kind: string; severity: string; title: string; detail: unknown; count: number; firstSeenAt: Date; lastSeenAt: Date };

export async function listOpenFindings(db: pg.Pool, deviceId: string): Promise<OpenFinding[]> {
  const { rows } = await db.query<{ kind: string; severity: string; title: string; detail: unknown; count: number; first_seen_at: Date; last_seen_at: Date }>(
    `SELECT kind, severity, title, detail, count, first_seen_at, last_seen_at FROM device_findings
      WHERE device_id = $1 AND resolved_at IS NULL ORDER BY last_seen_at DESC`,
    [deviceId],
  );
  return rows.map((r) => ({ kind: r.kind, severity: r.severity, title: r.title, detail: r.detail, count: r.count, firstSeenAt: r.first_seen_at, lastSeenAt: r.last_seen_at }));
}
