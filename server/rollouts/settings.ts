// A rollout as the controller works on it: its row, its settings read through
// the schema (so a rollout stored before a new setting existed gets the
// default), and its firmware.
import type pg from "pg";
import type { GateSettings } from "./gate-rules.ts";
import type { ExecutionSettings } from "./execution-rules.ts";
import { settingsSchema, type RolloutSettings } from "./schema.ts";

export type RolloutRow = {
  id: string;
  name: string;
  state: string;
  currentWave: number;
  createdById: string | null;
  pausedReason: string | null;
  /** A person's label, or the controller's for an automatic pause. */
  pausedBy: string | null;
  /** Unix seconds; the failure guard counts only devices finished since (null: all). */
  guardSince: number | null;
  settings: RolloutSettings;
  targetVersion: string;
  firmware: { id: string; version: string; sha256: string; size: number };
};

export function gateSettingsOf(s: RolloutSettings): GateSettings {
  return { successGate: s.successGate, maxFailureRate: s.maxFailureRate, minSample: s.minSample, earlyMinSample: s.earlyMinSample, advanceUpperFactor: s.advanceUpperFactor };
}

export function executionSettingsOf(s: RolloutSettings): ExecutionSettings {
  return { timeoutSec: s.timeoutMin * 60, maxRetries: s.maxRetries, retryBaseSec: s.retryBaseSec, retryCapSec: s.retryCapSec };
}

type Row = {
  id: string; name: string; state: string; current_wave: number; created_by_id: string | null; paused_reason: string | null; paused_by: string | null; guard_since: number | null; settings: unknown; fw_id: string; fw_version: string; sha256: string; size: number;
};

/** Loads and row-locks a rollout (actions and controller passes serialise on it); null when unknown. */
export async function lockRollout(db: Pick<pg.ClientBase, "query">, id: string): Promise<RolloutRow | null> {
  const { rows } = await db.query<Row>(
    `SELECT r.id, r.name, r.state::text AS state, r.current_wave, r.created_by_id, r.paused_reason, r.paused_by,
            extract(epoch FROM r.guard_since)::float8 AS guard_since, r.settings, f.id AS fw_id, f.version AS fw_version, f.sha256, f.size
       FROM rollouts r JOIN firmware f ON f.id = r.firmware_id WHERE r.id = $1 FOR UPDATE OF r`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    currentWave: r.current_wave,
    createdById: r.created_by_id,
    pausedReason: r.paused_reason,
    pausedBy: r.paused_by,
    guardSince: r.guard_since,
    settings: settingsSchema.parse(r.settings ?? {}),
    targetVersion: r.fw_version,
    firmware: { id: r.fw_id, version: r.fw_version, sha256: r.sha256, size: r.size },
  };
}
