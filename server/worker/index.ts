// The worker process: everything that runs in the background, built from the
// same code as the web. Each service owns its own start/stop; the worker stops
// them in reverse order on shutdown.
import { getPool } from "@/server/db/client.ts";
import { ensurePartitions, dropPartitionsOlderThan } from "@/server/db/timeseries.ts";
import { startIngestService } from "./ingest-service.ts";
import { startRolloutService } from "./rollout-service.ts";
import { pruneReplayKeys } from "@/server/shadow/mutations.ts";
import { SEQ_WINDOW } from "@/server/shadow/rules.ts";

export type Service = { name: string; stop(): Promise<void> };

const PARTITION_CHECK_MS = 10 * 60 * 1000;
const RETENTION_DAYS = Number(process.env.SHADOW_EVENTS_RETENTION_DAYS ?? 90);

/**
 * Housekeeping: daily partitions of shadow_events created ahead and old ones
 * dropped (plain PostgreSQL path), replay keys outside their window pruned.
 */
async function startPartitionMaintenance(): Promise<Service> {
  const run = async () => {
    try {
      await ensurePartitions(getPool(), { daysAhead: 3 });
      await dropPartitionsOlderThan(getPool(), RETENTION_DAYS);
      await pruneReplayKeys(getPool(), SEQ_WINDOW);
    } catch (err) {
      console.error("[worker] housekeeping failed:", (err as Error).message);
    }
  };
  await run();
  const timer = setInterval(() => void run(), PARTITION_CHECK_MS);
  timer.unref();
  return { name: "housekeeping", stop: async () => clearInterval(timer) };
}

export async function startWorker(): Promise<{ stop(): Promise<void> }> {
  const services: Service[] = [];
  services.push(await startPartitionMaintenance());
  services.push(await startIngestService());
  services.push(await startRolloutService());
  console.log(`[worker] running: ${services.map((s) => s.name).join(", ")}`);
  return {
    async stop() {
      for (const service of services.reverse()) {
        await service.stop().catch((err: Error) => console.error(`[worker] stopping ${service.name} failed:`, err.message));
      }
    },
  };
}
