// Reads for the rollout pages and the CLI.
import { getPool } from "@/server/db/client.ts";
import { AppError } from "@/server/errors.ts";
import { describeGate, waveHealth } from "./gate-rules.ts";
import { waveSnapshots } from "./reconcile.ts";
import { withFailedAttempts } from "./controller-rules.ts";
import { settingsSchema, strategySchema, targetingSchema, type RolloutStateName } from "./schema.ts";
import { gateSettingsOf } from "./settings.ts";

export type RolloutListInput = { page: number; pageSize: number; state?: string };

export async function listRollouts(input: RolloutListInput) {
  const pool = getPool();
  const where = input.state ? `WHERE r.state::text = $3` : "";
  const params: unknown[] = [input.pageSize, (input.page - 1) * input.pageSize, ...(input.state ? [input.state] : [])];
  const [{ rows }, { rows: total }] = await Promise.all([
    pool.query(
      `SELECT r.id, r.name, r.state::text AS state, r.paused_reason, r.current_wave, r.device_count, r.created_by_label, r.created_at,
              r.started_at, r.finished_at, r.requires_approval, f.version, f.device_type,
              (SELECT count(*) FROM rollout_waves w WHERE w.rollout_id = r.id)::int AS wave_count,
              (SELECT count(*) FILTER (WHERE e.state = 'succeeded') FROM rollout_executions e WHERE e.rollout_id = r.id)::int AS succeeded,
              (SELECT count(*) FILTER (WHERE e.state IN ('failed', 'timed_out')) FROM rollout_executions e WHERE e.rollout_id = r.id)::int AS failed
         FROM rollouts r JOIN firmware f ON f.id = r.firmware_id ${where}
        ORDER BY r.created_at DESC, r.id LIMIT $1 OFFSET $2`,
      params,
    ),
    pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rollouts r ${where.replace("$3", "$1")}`, input.state ? [input.state] : []),
  ]);
  return {
    total: total[0]?.n ?? 0,
    items: rows.map((r) => ({
      id: r.id as string,
      name: r.name as string,
      state: r.state as RolloutStateName,
      pausedReason: r.paused_reason as string | null,
      currentWave: r.current_wave as number,
      waveCount: r.wave_count as number,
      deviceCount: r.device_count as number,
      succeeded: r.succeeded as number,
      failed: r.failed as number,
      firmwareVersion: r.version as string,
      deviceType: r.device_type as string,
      requiresApproval: r.requires_approval as boolean,
      createdBy: r.created_by_label as string,
      createdAt: r.created_at as Date,
      startedAt: r.started_at as Date | null,
      finishedAt: r.finished_at as Date | null,
    })),
  };
}

/** Everything the rollout page shows at once: the rollout, its waves with counts and health, the gate in words. */
export async function getRollout(id: string) {
  const pool = getPool();
  const { rows } = await pool.query(
    `SELECT r.*, r.state::text AS state, f.version, f.device_type, f.sha256, f.size
       FROM rollouts r JOIN firmware f ON f.id = r.firmware_id WHERE r.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) throw new AppError("NOT_FOUND", "No such rollout.");
  const settings = settingsSchema.parse(r.settings ?? {});
  const gate = gateSettingsOf(settings);
  const [snapshots, { rows: waveRows }, { rows: skips }] = await Promise.all([
    waveSnapshots(pool, id, Date.now() / 1000),
    pool.query(`SELECT index, started_at, gate_passed_at, gate_text FROM rollout_waves WHERE rollout_id = $1 ORDER BY index`, [id]),
    pool.query<{ reason: string; n: number }>(`SELECT reason, count(*)::int AS n FROM rollout_skips WHERE rollout_id = $1 GROUP BY reason ORDER BY reason`, [id]),
  ]);
  const last = snapshots.length - 1;
  const current = snapshots.find((w) => w.index === r.current_wave);
  const gateText =
    r.state === "completed" || r.state === "aborted" || !current
      ? null
      : r.current_wave < last
        ? describeGate(r.current_wave + 1, r.current_wave, withFailedAttempts(current), gate)
        : (waveRows[r.current_wave]?.gate_text ?? null);
  return {
    id: r.id as string,
    name: r.name as string,
    state: r.state as RolloutStateName,
    pausedReason: r.paused_reason as string | null,
    /** A person's label, or "rollout controller" for an automatic pause. */
    pausedBy: r.paused_by as string | null,
    guardSince: r.guard_since as Date | null,
    currentWave: r.current_wave as number,
    deviceCount: r.device_count as number,
    requiresApproval: r.requires_approval as boolean,
    createdById: r.created_by_id as string | null,
    createdBy: r.created_by_label as string,
    approvedBy: r.approved_by_label as string | null,
    approvedAt: r.approved_at as Date | null,
    createdAt: r.created_at as Date,
    startedAt: r.started_at as Date | null,
    finishedAt: r.finished_at as Date | null,
    firmware: { id: r.firmware_id as string, version: r.version as string, deviceType: r.device_type as string, sha256: r.sha256 as string, size: r.size as number },
    seed: r.seed as string,
    targeting: targetingSchema.parse(r.targeting ?? {}),
    strategy: strategySchema.parse(r.strategy),
    settings,
    gateText,
    skipped: skips.map((s) => ({ reason: s.reason, count: s.n })),
    waves: snapshots.map((w) => {
      const h = waveHealth(withFailedAttempts(w));
      const meta = waveRows.find((m) => m.index === w.index);
      return {
        index: w.index,
        state: w.state,
        ...w.counts,
        /** Of inProgress: devices waiting to retry after a failed attempt. */
        retrying: w.retrying ?? 0,
        finished: h.finished,
        successRate: h.successRate,
        failureRate: h.failureRate,
        ciLower: h.interval.lower,
        ciUpper: h.interval.upper,
        startedAt: (meta?.started_at as Date | null) ?? null,
        gatePassedAt: (meta?.gate_passed_at as Date | null) ?? null,
      };
    }),
  };
}
export type RolloutDetail = Awaited<ReturnType<typeof getRollout>>;

/** `rollout status ID --json`: the stable shape release pipelines read. */
export async function rolloutStatus(id: string) {
  const r = await getRollout(id);
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    pausedReason: r.pausedReason,
    currentWave: r.currentWave,
    firmware: { version: r.firmware.version, deviceType: r.firmware.deviceType },
    gate: r.gateText,
    waves: r.waves.map((w) => ({
      index: w.index,
      size: w.size,
      succeeded: w.succeeded,
      failed: w.failed,
      timedOut: w.timedOut,
      inProgress: w.inProgress,
      pending: w.pending,
      offline: w.offline,
      state: w.state,
    })),
  };
}

export type ExecutionListInput = { id: string; page: number; pageSize: number; wave?: number; states?: string[] };

/** Devices of a rollout, most recently changed first; `states` e.g. the failing ones. */
export async function listExecutions(input: ExecutionListInput) {
  const pool = getPool();
  const params: unknown[] = [input.id];
  const conds = ["e.rollout_id = $1"];
  if (input.wave !== undefined) conds.push(`e.wave_index = $${params.push(input.wave)}`);
  if (input.states?.length) conds.push(`e.state::text = ANY($${params.push(input.states)}::text[])`);
  const where = conds.join(" AND ");
  const [{ rows }, { rows: total }] = await Promise.all([
    pool.query(
      `SELECT e.device_id, e.wave_index, e.state::text AS state, e.attempts, e.error_code, e.last_status, e.reported_version,
              e.notified_at, e.retry_at, e.deadline_at, e.finished_at, e.updated_at, d.region, d.hardware_version, s.online, s.last_seen_at
         FROM rollout_executions e JOIN devices d ON d.id = e.device_id LEFT JOIN device_shadows s ON s.device_id = e.device_id
        WHERE ${where} ORDER BY e.updated_at DESC, e.device_id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, input.pageSize, (input.page - 1) * input.pageSize],
    ),
    pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rollout_executions e WHERE ${where}`, params),
  ]);
  return {
    total: total[0]?.n ?? 0,
    items: rows.map((e) => ({
      deviceId: e.device_id as string,
      wave: e.wave_index as number,
      state: e.state as string,
      attempts: e.attempts as number,
      errorCode: e.error_code as string | null,
      lastStatus: e.last_status as string | null,
      reportedVersion: e.reported_version as string | null,
      region: e.region as string,
      hardwareVersion: e.hardware_version as string,
      online: (e.online as boolean | null) ?? false,
      lastSeenAt: e.last_seen_at as Date | null,
      notifiedAt: e.notified_at as Date | null,
      retryAt: e.retry_at as Date | null,
      deadlineAt: e.deadline_at as Date | null,
      updatedAt: e.updated_at as Date,
    })),
  };
}
