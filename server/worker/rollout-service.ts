// Wires the rollout controller into the worker: pg-boss for timers (deadlines
// and retry backoffs wake the leader exactly when they fall due), and the
// controller itself, which only acts while this worker holds the leader lock.
import PgBoss from "pg-boss";
import { config } from "@/server/config.ts";
import { getPool } from "@/server/db/client.ts";
import { ROLLOUT_CHANNEL, TIMER_QUEUE, startRolloutController } from "@/server/rollouts/controller.ts";

export async function startRolloutService() {
  const connectionString = config.databaseUrl;
  if (!connectionString) throw new Error("DATABASE_URL is not set");
  const boss = new PgBoss({ connectionString, max: 2, application_name: "fleetwave-timers" });
  boss.on("error", (err: Error) => console.error("[rollouts] timer queue error:", err.message));
  await boss.start();
  await boss.createQueue(TIMER_QUEUE);
  // Any worker may take a timer: it only wakes whichever worker leads.
  await boss.work<{ rolloutId: string }>(TIMER_QUEUE, { pollingIntervalSeconds: 1 }, async (jobs) => {
    for (const job of jobs) await getPool().query("SELECT pg_notify($1, $2)", [ROLLOUT_CHANNEL, job.data.rolloutId]);
  });
  const controller = config.rolloutController ? startRolloutController({ connectionString, passMs: config.rolloutPassMs, boss }) : null;
  return {
    name: controller ? "rollout controller" : "rollout timers",
    async stop() {
      await controller?.stop();
      await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    },
  };
}
