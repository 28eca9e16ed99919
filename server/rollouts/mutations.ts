// People's actions on rollouts: launch, approve, pause, resume, abort, advance
// a wave by hand, retry failed devices. Each runs in one transaction that
// row-locks the rollout (so it serialises with the controller's pass), records
// its audit event, and wakes the controller when it commits.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { getPool } from "@/server/db/client.ts";
import { AppError } from "@/server/errors.ts";
import { recordAuditSql, type Actor } from "@/server/audit/mutations.ts";
import { publishLive } from "@/server/live/publish.ts";
import { FLEET_ROOM, roomName } from "@/server/live/rooms.ts";
import { applyDesiredChanges } from "@/server/shadow/desired-mutations.ts";
import { ROLLOUT_CHANNEL } from "./controller.ts";
import { CONTROLLER } from "./reconcile.ts";
import { planFor, type FullPlan } from "./plan-data.ts";
import type { LaunchInput, RolloutStateName } from "./schema.ts";
import { lockRollout, type RolloutRow } from "./settings.ts";

type Tx = pg.PoolClient;
const LAUNCH_LOCK = 0x6c61_756e; // "laun": launches serialise, so two cannot take the same device

async function inTransaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
  const tx = await getPool().connect();
  try {
    await tx.query("BEGIN");
    const result = await work(tx);
    await tx.query("COMMIT");
    return result;
  } catch (err) {
    await tx.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

const userId = (actor: Actor) => (actor.type === "system" ? null : actor.id);
const wakeController = (tx: Tx, id: string) => tx.query("SELECT pg_notify($1, $2)", [ROLLOUT_CHANNEL, id]);

function announce(id: string, state: string) {
  publishLive(roomName.rollout(id), "rollout.changed", { rolloutId: id, state });
  publishLive(FLEET_ROOM, "rollouts.changed", { rolloutId: id });
}

async function insertPlan(tx: Tx, id: string, plan: FullPlan, startNow: boolean) {
  await tx.query(
    `INSERT INTO rollout_waves (rollout_id, index, size, state, started_at)
     SELECT $1, w.index, w.size, CASE WHEN $2 AND w.index = 0 THEN 'running' ELSE 'pending' END::"WaveState", CASE WHEN $2 AND w.index = 0 THEN now() END
       FROM jsonb_to_recordset($3::jsonb) AS w(index int, size int)`,
    [id, startNow, JSON.stringify(plan.waves.map((w) => ({ index: w.index, size: w.deviceIds.length })))],
  );
  const ids = plan.waves.flatMap((w) => w.deviceIds);
  const waveOf = plan.waves.flatMap((w) => w.deviceIds.map(() => w.index));
  await tx.query(
    `INSERT INTO rollout_executions (rollout_id, device_id, wave_index) SELECT $1, d, w FROM unnest($2::text[], $3::int[]) AS u(d, w)`,
    [id, ids, waveOf],
  );
  if (plan.skipped.length > 0) {
    await tx.query(
      `INSERT INTO rollout_skips (rollout_id, device_id, reason, detail) SELECT $1, d, r, t FROM unnest($2::text[], $3::text[], $4::text[]) AS u(d, r, t)`,
      [id, plan.skipped.map((s) => s.deviceId), plan.skipped.map((s) => s.reason), plan.skipped.map((s) => s.detail)],
    );
  }
}

/** Plans and creates a rollout; it starts at once unless it needs an approval. */
export async function launchRollout(input: LaunchInput, actor: Actor): Promise<{ id: string; state: RolloutStateName }> {
  const result = await inTransaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LAUNCH_LOCK]);
    const plan = await planFor(tx, input, input.requireApproval);
    if (plan.eligible === 0) {
      const why = plan.targeted === 0 ? "no device matches the targeting" : `all ${plan.targeted} targeted devices are skipped`;
      throw new AppError("INVALID", `Nothing to roll out: ${why}.`, { targeting: [why] });
    }
    const id = randomUUID();
    const state: RolloutStateName = plan.requiresApproval ? "awaiting_approval" : "running";
    await tx.query(
      `INSERT INTO rollouts (id, name, firmware_id, state, targeting, strategy, settings, seed, device_count, requires_approval,
                             created_by_id, created_by_label, started_at, updated_at)
       VALUES ($1, $2, $3, $4::"RolloutState", $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, CASE WHEN $4 = 'running' THEN now() END, now())`,
      [id, input.name, plan.firmware.id, state, JSON.stringify(plan.targeting), JSON.stringify(plan.strategy), JSON.stringify(input.settings),
        plan.seed, plan.eligible, plan.requiresApproval, userId(actor), actor.label],
    );
    await insertPlan(tx, id, plan, state === "running");
    await recordAuditSql(tx, {
      actor,
      action: "rollout.launch",
      target: { type: "rollout", id },
      data: {
        name: input.name,
        firmware: { id: plan.firmware.id, version: plan.firmware.version, deviceType: plan.firmware.deviceType },
        waves: plan.waves.map((w) => w.deviceIds.length),
        skipped: plan.skipped.length,
        state,
        settings: input.settings,
      },
    });
    await wakeController(tx, id);
    return { id, state };
  });
  announce(result.id, result.state);
  return result;
}

type Action = (tx: Tx, rollout: RolloutRow) => Promise<{ action: string; reason?: string; data?: Record<string, unknown>; state: RolloutStateName }>;

async function act(id: string, actor: Actor, run: Action): Promise<{ id: string; state: RolloutStateName }> {
  const state = await inTransaction(async (tx) => {
    const rollout = await lockRollout(tx, id);
    if (!rollout) throw new AppError("NOT_FOUND", "No such rollout.");
    const outcome = await run(tx, rollout);
    await recordAuditSql(tx, { actor, action: outcome.action, target: { type: "rollout", id }, reason: outcome.reason, data: outcome.data });
    await wakeController(tx, id);
    return outcome.state;
  });
  announce(id, state);
  return { id, state };
}

function expectState(rollout: RolloutRow, allowed: string[], verb: string) {
  if (!allowed.includes(rollout.state)) {
    throw new AppError("PRECONDITION_FAILED", `Cannot ${verb} a rollout that is ${rollout.state.replace("_", " ")}.`);
  }
}

export function approveRollout(id: string, actor: Actor) {
  return act(id, actor, async (tx, r) => {
    expectState(r, ["awaiting_approval"], "approve");
    if (userId(actor) !== null && userId(actor) === r.createdById) {
      throw new AppError("FORBIDDEN", "The engineer who created a rollout cannot approve it: another engineer must.");
    }
    await tx.query(`UPDATE rollouts SET state = 'running', approved_by_id = $2, approved_by_label = $3, approved_at = now(), started_at = now(), updated_at = now() WHERE id = $1`, [id, userId(actor), actor.label]);
    await tx.query(`UPDATE rollout_waves SET state = 'running', started_at = now() WHERE rollout_id = $1 AND index = 0`, [id]);
    return { action: "rollout.approve", state: "running" };
  });
}

export function pauseRollout(id: string, actor: Actor, reason?: string) {
  return act(id, actor, async (tx, r) => {
    expectState(r, ["running"], "pause");
    const why = `Paused by ${actor.label}${reason ? `: ${reason}` : ""}`;
    await tx.query(`UPDATE rollouts SET state = 'paused', paused_reason = $2, paused_by = $3, updated_at = now() WHERE id = $1`, [id, why, actor.label]);
    return { action: "rollout.pause", reason, state: "paused" };
  });
}

export function resumeRollout(id: string, actor: Actor, reason?: string) {
  return act(id, actor, async (tx, r) => {
    expectState(r, ["paused"], "resume");
    // Resuming after the guard paused means its failures were seen and accepted: from now on it judges
    // only devices that finish after this moment (else it would pause again on the same numbers).
    const automatic = r.pausedBy === CONTROLLER.label;
    await tx.query(
      `UPDATE rollouts SET state = 'running', paused_reason = NULL, paused_by = NULL, updated_at = now(),
              guard_since = CASE WHEN $2 THEN now() ELSE guard_since END WHERE id = $1`,
      [id, automatic],
    );
    return { action: "rollout.resume", reason, data: { wasPausedFor: r.pausedReason, guardReset: automatic }, state: "running" };
  });
}

/** Stops every new start; with `revert`, devices notified but not yet started get their desired firmware withdrawn. */
export function abortRollout(id: string, actor: Actor, options: { revert?: boolean; reason?: string } = {}) {
  return act(id, actor, async (tx, r) => {
    expectState(r, ["awaiting_approval", "running", "paused"], "abort");
    const { rows: notified } = await tx.query<{ device_id: string }>(
      `SELECT device_id FROM rollout_executions WHERE rollout_id = $1 AND state = 'notified' ORDER BY device_id`,
      [id],
    );
    if (options.revert && notified.length > 0) {
      await applyDesiredChanges(tx, notified.map((n) => ({ deviceId: n.device_id, patch: { firmware: null } })));
    }
    const { rowCount } = await tx.query(
      `UPDATE rollout_executions SET state = 'cancelled', deadline_at = NULL, retry_at = NULL, finished_at = now(), updated_at = now()
        WHERE rollout_id = $1 AND state IN ('pending', 'notified', 'in_progress', 'retry_wait')`,
      [id],
    );
    await tx.query(`UPDATE rollout_waves SET state = 'aborted' WHERE rollout_id = $1 AND state IN ('pending', 'running', 'passed')`, [id]);
    await tx.query(`UPDATE rollouts SET state = 'aborted', finished_at = now(), updated_at = now() WHERE id = $1`, [id]);
    return {
      action: "rollout.abort",
      reason: options.reason,
      data: { cancelled: rowCount ?? 0, reverted: options.revert ? notified.length : 0 },
      state: "aborted",
    };
  });
}

/** Starts the next wave now, whatever its gate says (the gate's state at that moment goes into the audit). */
export function advanceWave(id: string, actor: Actor, reason?: string) {
  return act(id, actor, async (tx, r) => {
    expectState(r, ["running", "paused"], "advance");
    const { rows } = await tx.query<{ max: number; gate_text: string | null }>(
      `SELECT (SELECT max(index) FROM rollout_waves WHERE rollout_id = $1) AS max,
              (SELECT gate_text FROM rollout_waves WHERE rollout_id = $1 AND index = $2) AS gate_text`,
      [id, r.currentWave],
    );
    if (r.currentWave >= (rows[0]?.max ?? 0)) throw new AppError("PRECONDITION_FAILED", "This is the last wave: there is no next wave to start.");
    const to = r.currentWave + 1;
    await tx.query(`UPDATE rollout_waves SET state = 'passed', gate_passed_at = now() WHERE rollout_id = $1 AND index = $2`, [id, r.currentWave]);
    await tx.query(`UPDATE rollout_waves SET state = 'running', started_at = now() WHERE rollout_id = $1 AND index = $2`, [id, to]);
    await tx.query(`UPDATE rollouts SET current_wave = $2, updated_at = now() WHERE id = $1`, [id, to]);
    return { action: "rollout.advance", reason, data: { from: r.currentWave, to, gateAtAdvance: rows[0]?.gate_text ?? null }, state: r.state as RolloutStateName };
  });
}

/** Failed and timed-out devices get a fresh set of attempts; a completed rollout runs again for them. */
export function retryFailed(id: string, actor: Actor) {
  return act(id, actor, async (tx, r) => {
    expectState(r, ["running", "paused", "completed"], "retry devices of");
    const { rowCount } = await tx.query(
      `UPDATE rollout_executions SET state = 'pending', attempts = 0, error_code = NULL, finished_at = NULL, deadline_at = NULL, retry_at = NULL, updated_at = now()
        WHERE rollout_id = $1 AND state IN ('failed', 'timed_out')`,
      [id],
    );
    if (!rowCount) throw new AppError("PRECONDITION_FAILED", "No failed or timed-out device to retry.");
    const state = (r.state === "completed" ? "running" : r.state) as RolloutStateName;
    if (r.state === "completed") {
      await tx.query(`UPDATE rollouts SET state = 'running', finished_at = NULL, updated_at = now() WHERE id = $1`, [id]);
      await tx.query(`UPDATE rollout_waves SET state = 'passed' WHERE rollout_id = $1 AND state = 'completed'`, [id]);
      await tx.query(`UPDATE rollout_waves SET state = 'running' WHERE rollout_id = $1 AND index = $2`, [id, r.currentWave]);
    }
    return { action: "rollout.retry_failed", data: { devices: rowCount }, state };
  });
}
