// One controller pass over one running rollout, in ONE transaction on the
// leader's connection: follow what devices reported, fire timeouts, guard and
// gate the waves, then notify the next devices within the rate limit. A crash
// anywhere rolls the pass back whole, so a device is notified (its desired
// state changed and its delta queued) exactly once per attempt.
import type pg from "pg";
import { recordAuditSql, type Actor } from "@/server/audit/mutations.ts";
import { applyDesiredChanges } from "@/server/shadow/desired-mutations.ts";
import { SILENCE_MS } from "@/server/shadow/presence-rules.ts";
import { firmwareDownloadUrl } from "@/server/firmware/links.ts";
import { decideRollout, unfinished, type WaveSnapshot } from "./controller-rules.ts";
import { nextExecution, type Execution, type ExecutionState } from "./execution-rules.ts";
import { isNewReport, readFirmwareReport } from "./report-rules.ts";
import { isWithinWindow } from "./window-rules.ts";
import { gateSettingsOf, executionSettingsOf, type RolloutRow } from "./settings.ts";

export const CONTROLLER: Actor = { type: "system", label: "rollout controller" };

type Db = Pick<pg.ClientBase, "query">;

/** `saturated`: the pass notified as many devices as one transaction may; more are due at once. */
export type PassResult = { changed: boolean; notified: number; saturated: boolean; decided: boolean; nextDueAt: Date | null; state: string };

/**
 * Devices notified in one transaction at most: a pass holds the rollout row and
 * these shadow rows locked until it commits, and the ingest and people's
 * actions wait behind it.
 */
export const MAX_NOTIFY_PER_PASS = 500;

type ObservedRow = {
  device_id: string;
  state: ExecutionState;
  attempts: number;
  error_code: string | null;
  last_status: string | null;
  reported_version: string | null;
  notified_at: number | null;
  deadline_at: number | null;
  retry_at: number | null;
  version: number;
  reported: unknown;
  metadata: unknown;
  silent: boolean;
  /** The shadow's change history still holds every version since the notification… */
  history_covers: boolean;
  /** …and one of them is a report of firmware.status. */
  status_reported_since: boolean;
};

const MISMATCH = "version_mismatch:";

/**
 * A device that says "completed" on another version than the target did not
 * boot the new image (or lies about it): a failure for the rollout, and a
 * finding on the device, which the alerting raises and the device page shows.
 */
async function recordVersionMismatches(db: Db, rollout: RolloutRow, found: Array<{ device_id: string; error_code: string | null }>) {
  if (found.length === 0) return;
  const rows = found.map((f) => ({
    device_id: f.device_id,
    title: `Reported firmware ${f.error_code!.slice(MISMATCH.length)} after installing ${rollout.targetVersion}`,
    detail: { rolloutId: rollout.id, rollout: rollout.name, target: rollout.targetVersion, reported: f.error_code!.slice(MISMATCH.length) },
  }));
  await db.query(
    `INSERT INTO device_findings (device_id, kind, severity, title, detail)
     SELECT u.device_id, 'firmware_version_mismatch', 'critical', u.title, u.detail
       FROM jsonb_to_recordset($1::jsonb) AS u(device_id text, title text, detail jsonb)
     ON CONFLICT (device_id, kind) WHERE resolved_at IS NULL
     DO UPDATE SET count = device_findings.count + 1, last_seen_at = now(), title = EXCLUDED.title, detail = EXCLUDED.detail`,
    [JSON.stringify(rows)],
  );
}

/** Advances executions from reports and timers; returns how many changed. */
async function followDevices(db: Db, rollout: RolloutRow, nowSec: number): Promise<number> {
  const { rows } = await db.query<ObservedRow>(
    `SELECT e.device_id, e.state, e.attempts, e.error_code, e.last_status, e.reported_version,
            extract(epoch FROM e.notified_at)::float8 AS notified_at, extract(epoch FROM e.deadline_at)::float8 AS deadline_at,
            extract(epoch FROM e.retry_at)::float8 AS retry_at, s.version,
            jsonb_build_object('firmware', s.reported->'firmware') AS reported,
            jsonb_build_object('reported', jsonb_build_object('firmware', s.metadata->'reported'->'firmware')) AS metadata,
            (s.last_seen_at IS NULL OR s.last_seen_at < to_timestamp($2) - make_interval(secs => $3)) AS silent,
            coalesce((SELECT min((c->>'v')::int) <= e.notified_version + 1 FROM jsonb_array_elements(s.changes::jsonb) c), false) AS history_covers,
            coalesce((SELECT bool_or(jsonb_typeof(c->'reported'->'firmware') = 'object' AND c->'reported'->'firmware' ? 'status')
                        FROM jsonb_array_elements(s.changes::jsonb) c WHERE (c->>'v')::int > e.notified_version), false) AS status_reported_since
       FROM rollout_executions e JOIN device_shadows s ON s.device_id = e.device_id
      WHERE e.rollout_id = $1 AND e.state IN ('notified', 'in_progress')
        AND (s.version > coalesce(e.observed_version, -1) OR e.deadline_at <= to_timestamp($2))`,
    [rollout.id, nowSec, SILENCE_MS / 1000],
  );
  if (rows.length === 0) return 0;
  const settings = executionSettingsOf(rollout.settings);
  const updates = rows.map((row) => {
    let e: Execution = { state: row.state, attempts: row.attempts, errorCode: row.error_code, deadlineAt: row.deadline_at, retryAt: row.retry_at };
    let lastStatus = row.last_status;
    let reportedVersion = row.reported_version;
    const report = readFirmwareReport(row.reported, row.metadata);
    // Status stamps are whole seconds: a device that fails again within the second it was notified
    // in reports what it reported before ("failed"), stamped that same second. The change history
    // tells such a report from the old one (it came after the notification's version); only when
    // the history no longer reaches back to the notification does the stamp decide.
    const fresh = row.history_covers
      ? row.status_reported_since
      : row.notified_at !== null && report !== null && isNewReport(report, row.notified_at, { status: lastStatus, version: reportedVersion });
    if (report && fresh) {
      e = nextExecution(e, { type: "reported", at: nowSec, status: report.status, version: report.version, errorCode: report.errorCode }, rollout.targetVersion, settings);
      lastStatus = report.status;
      reportedVersion = report.version;
    }
    if (e.state === "notified" && row.silent && e.deadlineAt !== null && e.deadlineAt <= nowSec) {
      // Never reached: the in-progress clock does not run for a device that is not there.
      e = { ...e, deadlineAt: nowSec + settings.timeoutSec };
    } else {
      e = nextExecution(e, { type: "tick", at: nowSec }, rollout.targetVersion, settings);
    }
    const finished = e.state === "succeeded" || e.state === "failed" || e.state === "timed_out";
    return {
      device_id: row.device_id,
      state: e.state,
      error_code: e.errorCode,
      deadline_at: e.deadlineAt,
      retry_at: e.retryAt,
      last_status: lastStatus,
      reported_version: reportedVersion,
      observed_version: row.version,
      finished,
    };
  });
  await db.query(
    `UPDATE rollout_executions AS e
        SET state = u.state::"ExecutionState", error_code = u.error_code, deadline_at = to_timestamp(u.deadline_at),
            retry_at = to_timestamp(u.retry_at), last_status = u.last_status, reported_version = u.reported_version,
            observed_version = u.observed_version, updated_at = now(),
            finished_at = CASE WHEN u.finished THEN coalesce(e.finished_at, now()) ELSE NULL END
       FROM jsonb_to_recordset($2::jsonb) AS u(device_id text, state text, error_code text, deadline_at float8, retry_at float8,
            last_status text, reported_version text, observed_version int, finished boolean)
      WHERE e.rollout_id = $1 AND e.device_id = u.device_id`,
    [rollout.id, JSON.stringify(updates)],
  );
  await recordVersionMismatches(db, rollout, updates.filter((u, i) => u.error_code?.startsWith(MISMATCH) && rows[i]!.error_code !== u.error_code));
  return updates.filter((u, i) => u.state !== rows[i]!.state).length;
}

type CountRow = {
  wave_index: number; wave_state: WaveSnapshot["state"]; size: number; pending: number; in_progress: number; succeeded: number; failed: number; timed_out: number; offline: number;
  retrying: number; g_succeeded: number; g_failed: number; g_timed_out: number; g_retrying: number;
};

/**
 * Counts per wave, and the counts the failure guard judges: failures include
 * devices waiting to retry after a failed attempt; with `guardSince` (unix s)
 * only devices that finished (or failed an attempt) since then.
 */
export async function waveSnapshots(
  db: Db,
  rolloutId: string,
  nowSec: number,
  guardSince: number | null = null,
  options: { offlineUpToWave?: number } = {},
): Promise<WaveSnapshot[]> {
  // States are counted from the executions alone (an index scan); only unfinished devices are joined
  // with their shadows for "potentially offline" — and the controller asks that only for started waves.
  const { rows } = await db.query<CountRow>(
    `SELECT w.index AS wave_index, w.state::text AS wave_state, w.size,
            count(e.state) FILTER (WHERE e.state = 'pending')::int AS pending,
            count(e.state) FILTER (WHERE e.state IN ('notified', 'in_progress', 'retry_wait'))::int AS in_progress,
            count(e.state) FILTER (WHERE e.state = 'succeeded')::int AS succeeded,
            count(e.state) FILTER (WHERE e.state = 'failed')::int AS failed,
            count(e.state) FILTER (WHERE e.state = 'timed_out')::int AS timed_out,
            coalesce(max(o.n), 0)::int AS offline,
            count(e.state) FILTER (WHERE e.state = 'succeeded' AND e.finished_at >= to_timestamp($4))::int AS g_succeeded,
            count(e.state) FILTER (WHERE e.state = 'failed' AND e.finished_at >= to_timestamp($4))::int AS g_failed,
            count(e.state) FILTER (WHERE e.state = 'timed_out' AND e.finished_at >= to_timestamp($4))::int AS g_timed_out,
            count(e.state) FILTER (WHERE e.state = 'retry_wait')::int AS retrying,
            count(e.state) FILTER (WHERE e.state = 'retry_wait' AND e.updated_at >= to_timestamp($4))::int AS g_retrying
       FROM rollout_waves w
       LEFT JOIN rollout_executions e ON e.rollout_id = w.rollout_id AND e.wave_index = w.index
       LEFT JOIN (SELECT u.wave_index, count(*) AS n
                    FROM rollout_executions u JOIN device_shadows s ON s.device_id = u.device_id
                   WHERE u.rollout_id = $1 AND u.state IN ('pending', 'notified', 'in_progress', 'retry_wait') AND u.wave_index <= $5
                     AND (s.last_seen_at IS NULL OR s.last_seen_at < to_timestamp($2) - make_interval(secs => $3))
                   GROUP BY u.wave_index) o ON o.wave_index = w.index
      WHERE w.rollout_id = $1
      GROUP BY w.index, w.state, w.size ORDER BY w.index`,
    [rolloutId, nowSec, SILENCE_MS / 1000, guardSince ?? 0, options.offlineUpToWave ?? 2_147_483_647],
  );
  return rows.map((r) => {
    const counts = { size: r.size, pending: r.pending, inProgress: r.in_progress, succeeded: r.succeeded, failed: r.failed, timedOut: r.timed_out, offline: r.offline };
    const wave: WaveSnapshot = { index: r.wave_index, state: r.wave_state, counts, retrying: r.retrying };
    if (guardSince === null) return wave;
    // Since a resume: as withFailedAttempts, over the devices that finished or failed an attempt since then.
    const guard = { ...counts, inProgress: counts.inProgress - r.retrying, succeeded: r.g_succeeded, failed: r.g_failed + r.g_retrying, timedOut: r.g_timed_out };
    return { ...wave, guard };
  });
}

/** Guard, gate, completion: returns whether the rollout's state changed. */
async function decide(db: Db, rollout: RolloutRow, waves: WaveSnapshot[]): Promise<boolean> {
  let changed = false;
  for (const w of waves) {
    if (w.state === "passed" && unfinished(w.counts) === 0) {
      await db.query(`UPDATE rollout_waves SET state = 'completed' WHERE rollout_id = $1 AND index = $2`, [rollout.id, w.index]);
      changed = true;
    }
  }
  const verdict = decideRollout(waves, rollout.currentWave, gateSettingsOf(rollout.settings));
  const target = { type: "rollout", id: rollout.id };
  switch (verdict.kind) {
    case "pause":
      await db.query(`UPDATE rollouts SET state = 'paused', paused_reason = $2, paused_by = $3, updated_at = now() WHERE id = $1`, [rollout.id, verdict.reason, CONTROLLER.label]);
      await recordAuditSql(db, { actor: CONTROLLER, action: "rollout.auto_pause", target, reason: verdict.reason, data: { wave: verdict.wave, counts: verdict.counts } });
      rollout.state = "paused";
      return true;
    case "advance":
      await db.query(`UPDATE rollout_waves SET state = 'passed', gate_passed_at = now(), gate_text = $3 WHERE rollout_id = $1 AND index = $2`, [rollout.id, verdict.from, verdict.gateText]);
      await db.query(`UPDATE rollout_waves SET state = 'running', started_at = now() WHERE rollout_id = $1 AND index = $2`, [rollout.id, verdict.to]);
      await db.query(`UPDATE rollouts SET current_wave = $2, updated_at = now() WHERE id = $1`, [rollout.id, verdict.to]);
      await recordAuditSql(db, {
        actor: CONTROLLER,
        action: "rollout.gate_passed",
        target,
        reason: `Wave ${verdict.from + 1} gate passed: ${verdict.reason}; wave ${verdict.to + 1} starts`,
        data: { from: verdict.from, to: verdict.to, counts: verdict.counts },
      });
      rollout.currentWave = verdict.to;
      return true;
    case "complete":
      await db.query(`UPDATE rollout_waves SET state = 'completed', gate_passed_at = coalesce(gate_passed_at, now()) WHERE rollout_id = $1 AND state IN ('running', 'passed')`, [rollout.id]);
      await db.query(`UPDATE rollouts SET state = 'completed', finished_at = now(), updated_at = now() WHERE id = $1`, [rollout.id]);
      await recordAuditSql(db, { actor: CONTROLLER, action: "rollout.completed", target, reason: verdict.reason, data: { waves: waves.map((w) => ({ index: w.index, ...w.counts })) } });
      rollout.state = "completed";
      return true;
    case "wait": {
      const { rowCount } = await db.query(
        `UPDATE rollout_waves SET gate_text = $3 WHERE rollout_id = $1 AND index = $2 AND gate_text IS DISTINCT FROM $3`,
        [rollout.id, rollout.currentWave, verdict.gateText],
      );
      return changed || (rowCount ?? 0) > 0;
    }
  }
}

type DueRow = { device_id: string; attempts: number; fw: { status?: unknown; version?: unknown } | null };

/** Notifies up to `budget` due devices of started waves: their desired firmware, with a fresh signed link. */
async function notifyDue(db: Db, rollout: RolloutRow, budget: number, nowSec: number): Promise<number> {
  if (budget <= 0 || !isWithinWindow(rollout.settings.window, new Date(nowSec * 1000))) return 0;
  const { rows } = await db.query<DueRow>(
    `SELECT e.device_id, e.attempts, s.reported->'firmware' AS fw
       FROM rollout_executions e JOIN device_shadows s ON s.device_id = e.device_id
      WHERE e.rollout_id = $1 AND e.wave_index <= $2
        AND (e.state = 'pending' OR (e.state = 'retry_wait' AND e.retry_at <= to_timestamp($3)))
      ORDER BY e.wave_index, e.state DESC, e.device_id
      LIMIT $4`,
    [rollout.id, rollout.currentWave, nowSec, budget],
  );
  if (rows.length === 0) return 0;
  const fw = rollout.firmware;
  const versions = await applyDesiredChanges(
    db as pg.PoolClient,
    rows.map((r) => ({
      deviceId: r.device_id,
      patch: { firmware: { version: fw.version, url: firmwareDownloadUrl(fw.id, r.device_id, nowSec), sha256: fw.sha256, size: fw.size } },
    })),
    nowSec,
  );
  const timeoutSec = executionSettingsOf(rollout.settings).timeoutSec;
  const updates = rows.map((r) => ({
    device_id: r.device_id,
    attempts: r.attempts,
    version: versions.get(r.device_id)!,
    last_status: typeof r.fw?.status === "string" ? r.fw.status : null,
    reported_version: typeof r.fw?.version === "string" ? r.fw.version : null,
  }));
  // The attempts guard makes a stale pass (a leader that lost its lock) unable to notify again.
  const { rowCount } = await db.query(
    `UPDATE rollout_executions AS e
        SET state = 'notified', attempts = e.attempts + 1, notified_at = to_timestamp($2), deadline_at = to_timestamp($2 + $3),
            retry_at = NULL, error_code = NULL, notified_version = u.version, observed_version = u.version,
            last_status = u.last_status, reported_version = u.reported_version, updated_at = now()
       FROM jsonb_to_recordset($4::jsonb) AS u(device_id text, attempts int, version int, last_status text, reported_version text)
      WHERE e.rollout_id = $1 AND e.device_id = u.device_id AND e.attempts = u.attempts`,
    [rollout.id, nowSec, timeoutSec, JSON.stringify(updates)],
  );
  if (rowCount !== rows.length) throw new Error(`rollout ${rollout.id}: ${rows.length - (rowCount ?? 0)} executions changed under the controller`);
  return rows.length;
}

async function nextDue(db: Db, rolloutId: string): Promise<Date | null> {
  const { rows } = await db.query<{ due: Date | null }>(
    `SELECT least(min(deadline_at) FILTER (WHERE state IN ('notified', 'in_progress')),
                  min(retry_at) FILTER (WHERE state = 'retry_wait')) AS due
       FROM rollout_executions WHERE rollout_id = $1`,
    [rolloutId],
  );
  return rows[0]?.due ?? null;
}

/**
 * One pass, inside the caller's transaction. `budget` is how many devices the
 * rate limiter lets this pass notify.
 */
export async function reconcileRollout(db: Db, rollout: RolloutRow, budget: number, nowSec: number, options: { decide?: boolean } = {}): Promise<PassResult> {
  // Reports are followed while paused too, so the page shows devices still finishing.
  const followed = await followDevices(db, rollout, nowSec);
  if (rollout.state !== "running") {
    return { changed: followed > 0, notified: 0, saturated: false, decided: false, nextDueAt: await nextDue(db, rollout.id), state: rollout.state };
  }
  // Counting every execution is the pass's biggest cost: only when something moved, or when asked.
  const mustDecide = followed > 0 || options.decide !== false;
  const decided = mustDecide ? await decide(db, rollout, await waveSnapshots(db, rollout.id, nowSec, rollout.guardSince, { offlineUpToWave: rollout.currentWave })) : false;
  const allowance = Math.min(budget, MAX_NOTIFY_PER_PASS);
  const notified = rollout.state === "running" ? await notifyDue(db, rollout, allowance, nowSec) : 0;
  return {
    changed: followed > 0 || decided || notified > 0,
    notified,
    saturated: notified > 0 && notified === allowance && allowance === MAX_NOTIFY_PER_PASS,
    decided: mustDecide,
    nextDueAt: await nextDue(db, rollout.id),
    state: rollout.state,
  };
}
