// The rollout controller: one leader among all workers (a session advisory
// lock), passes over every running rollout, and timers from pg-boss.
//
// Fencing: every pass runs on the very connection that holds the lock. If that
// connection dies, PostgreSQL releases the lock and the pass's transaction
// fails with it, so a leader that lost its lock can never write next to the
// new one.
import pg from "pg";
import type PgBoss from "pg-boss";
import { publishLive } from "@/server/live/publish.ts";
import { FLEET_ROOM, roomName } from "@/server/live/rooms.ts";
import { reconcileRollout } from "./reconcile.ts";
import { lockRollout } from "./settings.ts";

export const ROLLOUT_CHANNEL = "fleetwave_rollouts";
export const TIMER_QUEUE = "rollout-timer";
const LEADER_LOCK = 0x726f_6c6c; // "roll"
/** Waves are counted and gated at least this often even when no device moved (offline devices age, windows open). */
const DECIDE_EVERY_MS = 5000;
/** Poll interval while no rollout is running or paused (actions wake the leader at once anyway). */
const IDLE_POLL_MS = 10_000;

export type ControllerOptions = {
  connectionString: string;
  /** Pass interval while rollouts run (device reports are read each pass). */
  passMs?: number;
  /** How often a standby worker asks for the lock. */
  standbyMs?: number;
  boss?: PgBoss | null;
  log?: (line: string) => void;
};

export type Controller = { stop(): Promise<void>; isLeader(): boolean; wake(): void };

/** Token bucket per rollout: ratePerSec devices per second, at most one second's worth at once. */
export class PublishBudget {
  private tokens = new Map<string, { tokens: number; at: number }>();
  take(id: string, ratePerSec: number, now: number): number {
    const b = this.tokens.get(id) ?? { tokens: ratePerSec, at: now };
    const tokens = Math.min(ratePerSec, b.tokens + ((now - b.at) / 1000) * ratePerSec);
    this.tokens.set(id, { tokens, at: now });
    return Math.floor(tokens);
  }
  spend(id: string, n: number) {
    const b = this.tokens.get(id);
    if (b) b.tokens -= n;
  }
}

function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return code.startsWith("08") || code.startsWith("57P") || /Connection terminated|not queryable/i.test((err as Error).message);
}

export function startRolloutController(options: ControllerOptions): Controller {
  const passMs = options.passMs ?? 1000;
  const standbyMs = options.standbyMs ?? 2000;
  const log = options.log ?? ((line) => console.log(`[rollouts] ${line}`));
  const budget = new PublishBudget();
  const timersSent = new Map<string, number>();
  const lastDecided = new Map<string, number>();
  const forced = new Set<string>();
  let leader = false;
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let woken = false;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        return resolve();
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });

  async function scheduleTimer(rolloutId: string, due: Date | null) {
    if (!options.boss || !due) return;
    // The next pass comes sooner anyway; a timer only matters beyond it.
    if (due.getTime() <= Date.now() + passMs || timersSent.get(rolloutId) === due.getTime()) return;
    timersSent.set(rolloutId, due.getTime());
    await options.boss
      .send(TIMER_QUEUE, { rolloutId }, { startAfter: due, singletonKey: `${rolloutId}:${due.getTime()}`, retryLimit: 3 })
      .catch((err: Error) => log(`timer for ${rolloutId} not scheduled: ${err.message}`));
  }

  async function passOne(db: pg.Client, id: string): Promise<void> {
    await db.query("BEGIN");
    try {
      const rollout = await lockRollout(db, id);
      if (!rollout || (rollout.state !== "running" && rollout.state !== "paused")) {
        await db.query("COMMIT");
        return;
      }
      const now = Date.now();
      const allowance = rollout.state === "running" ? budget.take(id, rollout.settings.ratePerSec, now) : 0;
      const decide = forced.has(id) || now - (lastDecided.get(id) ?? 0) >= DECIDE_EVERY_MS;
      const result = await reconcileRollout(db, rollout, allowance, now / 1000, { decide });
      await db.query("COMMIT");
      forced.delete(id);
      if (result.decided) lastDecided.set(id, now);
      budget.spend(id, result.notified);
      if (result.saturated) wake();
      if (result.changed) {
        publishLive(roomName.rollout(id), "rollout.changed", { rolloutId: id, state: result.state });
        publishLive(FLEET_ROOM, "rollouts.changed", { rolloutId: id });
      }
      await scheduleTimer(id, result.nextDueAt);
    } catch (err) {
      await db.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  async function lead(db: pg.Client) {
    await db.query(`LISTEN ${ROLLOUT_CHANNEL}`);
    db.on("notification", (message) => {
      // An action or a timer on this rollout: decide at once, whatever changed.
      if (message.payload) forced.add(message.payload);
      wake();
    });
    log("leader: controlling rollouts");
    while (!stopped) {
      const { rows } = await db.query<{ id: string }>(`SELECT id FROM rollouts WHERE state IN ('running', 'paused') ORDER BY created_at`);
      for (const { id } of rows) {
        if (stopped) break;
        try {
          await passOne(db, id);
        } catch (err) {
          // One rollout's fault (e.g. a device removed under it) must not stop the others.
          if (isConnectionLoss(err)) throw err;
          log(`pass over ${id} failed: ${(err as Error).message}`);
        }
      }
      // Nothing running: no need to poll each second; a launch or resume wakes the leader (NOTIFY).
      await sleep(rows.length > 0 ? passMs : Math.max(passMs, IDLE_POLL_MS));
    }
  }

  const loop = (async () => {
    while (!stopped) {
      const db = new pg.Client({ connectionString: options.connectionString, application_name: "fleetwave-rollout-controller" });
      let lost = false;
      db.on("error", (err) => {
        lost = true;
        if (leader) log(`leader connection lost: ${err.message}`);
        wake();
      });
      try {
        await db.connect();
        while (!stopped && !lost) {
          const { rows } = await db.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [LEADER_LOCK]);
          if (rows[0]?.ok) {
            leader = true;
            await lead(db);
            break;
          }
          await sleep(standbyMs);
        }
      } catch (err) {
        if (!stopped) log(`controller error: ${(err as Error).message}`);
      } finally {
        leader = false;
        await db.end().catch(() => undefined);
      }
      if (!stopped) await sleep(standbyMs);
    }
  })();

  return {
    isLeader: () => leader,
    wake,
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
