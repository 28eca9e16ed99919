// The ingest pipeline: messages are taken in as they arrive, decided in
// batches (size or time, whichever first), written in ONE transaction, and
// only then acknowledged and answered. A crash before COMMIT loses nothing
// (the broker redelivers); a crash after it is harmless (replays are answered
// as duplicates). Batches run one at a time, so a device's messages keep
// their order.
import type pg from "pg";
import { config } from "@/server/config.ts";
import { parseDeviceTopic } from "@/server/mqtt/topics.ts";
import { decideBatch, type BatchMessage, type PendingSync, type Response } from "./batch-rules.ts";
import { ShadowCache } from "./cache.ts";
import { loadShadows, type StoredShadow } from "./data.ts";
import { ShadowConflict, writeIngestBatch } from "./mutations.ts";

export type IngestInput = { topic: string; payload: Buffer; receivedAt: number; ack(): void };

export type IngestStats = { received: number; batches: number; committed: number; conflicts: number; failures: number; dbTransactions: number; queued: number };

export type IngestOptions = {
  pool: pg.Pool;
  /** Responses to publish once their batch committed. */
  publish(responses: Response[]): void;
  /** Sync answers (rate-limited by the caller). */
  publishSync(responses: Response[]): void;
  /** After each commit: what changed, for live push. */
  onCommitted?(change: { devices: string[]; onlineChanged: boolean; firmwareChanged: boolean }): void;
  cache?: ShadowCache;
  maxBatch?: number;
  maxWaitMs?: number;
};

const MAX_CONFLICT_RETRIES = 5;

export function createIngest(options: IngestOptions) {
  const maxBatch = options.maxBatch ?? Number(process.env.INGEST_BATCH_SIZE ?? 1000);
  const maxWaitMs = options.maxWaitMs ?? Number(process.env.INGEST_BATCH_WAIT_MS ?? 4);
  const cache = options.cache ?? new ShadowCache();
  const pendingSyncs = new Map<string, PendingSync>();
  const topicPrefix = config.topicPrefix;
  const queue: IngestInput[] = [];
  const stats: IngestStats = { received: 0, batches: 0, committed: 0, conflicts: 0, failures: 0, dbTransactions: 0, queued: 0 };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  async function load(ids: string[]): Promise<Map<string, StoredShadow>> {
    const { hits, misses } = cache.lookup(ids);
    if (misses.length > 0) {
      const found = await loadShadows(options.pool, misses);
      stats.dbTransactions++;
      for (const id of misses) {
        const entry = found.get(id);
        if (entry) {
          cache.set(id, entry);
          hits.set(id, entry);
        } else cache.markUnknown(id);
      }
    }
    return hits;
  }

  async function processBatch(inputs: IngestInput[]) {
    const messages: BatchMessage[] = [];
    for (const input of inputs) {
      const parsed = parseDeviceTopic(input.topic, topicPrefix);
      if (parsed) messages.push({ deviceId: parsed.deviceId, suffix: parsed.suffix, payload: input.payload, receivedAt: input.receivedAt });
    }
    const ids = [...new Set(messages.map((m) => m.deviceId))];
    for (let attempt = 0; ; attempt++) {
      const loaded = await load(ids);
      const decision = decideBatch(messages, loaded, pendingSyncs, Date.now());
      const client = await options.pool.connect();
      try {
        await client.query("BEGIN");
        await writeIngestBatch(client, decision);
        await client.query("COMMIT");
        stats.dbTransactions++;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        if (err instanceof ShadowConflict && attempt < MAX_CONFLICT_RETRIES) {
          // Another worker moved these shadows on: read them again and decide the batch anew.
          stats.conflicts++;
          cache.evict(err.deviceIds);
          continue;
        }
        cache.evict(ids);
        throw err;
      } finally {
        client.release();
      }
      for (const input of inputs) input.ack();
      // Every device the batch wrote (changed or only seen) gets its committed state cached.
      for (const write of decision.shadows) {
        const entry = loaded.get(write.deviceId);
        if (!entry) continue;
        cache.set(write.deviceId, {
          device: write.firmwareVersion ? { ...entry.device, firmwareVersion: write.firmwareVersion } : entry.device,
          state: write.next ?? entry.state,
          presence: {
            online: write.online ?? entry.presence.online,
            lastSeenAt: write.lastSeenAt,
            deviceClockAt: write.deviceClockAt ?? entry.presence.deviceClockAt,
            clockSkewSec: write.clockSkewSec ?? entry.presence.clockSkewSec,
          },
        });
      }
      options.publish(decision.responses);
      if (decision.syncs.length > 0) options.publishSync(decision.syncs);
      stats.committed += inputs.length;
      if (decision.changed.size > 0 || decision.onlineChanged) {
        options.onCommitted?.({ devices: [...decision.changed.keys()], onlineChanged: decision.onlineChanged, firmwareChanged: decision.firmwareChanged });
      }
      return;
    }
  }

  async function runLoop() {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      stats.batches++;
      for (let failures = 0; ; failures++) {
        try {
          await processBatch(batch);
          break;
        } catch (err) {
          // Nothing was acknowledged: keep the batch and try again once the database is back.
          stats.failures++;
          console.error(`[ingest] batch of ${batch.length} failed (attempt ${failures + 1}):`, (err as Error).message);
          if (stopped) return;
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** failures)));
        }
      }
    }
  }

  function kick() {
    if (running || queue.length === 0) return;
    running = runLoop().finally(() => {
      running = null;
      if (queue.length > 0) schedule();
    });
  }

  function schedule() {
    if (running) return;
    if (queue.length >= maxBatch) {
      if (timer) clearTimeout(timer);
      timer = null;
      kick();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        kick();
      }, maxWaitMs);
    }
  }

  return {
    cache,
    push(input: IngestInput) {
      stats.received++;
      queue.push(input);
      schedule();
    },
    stats: (): IngestStats => ({ ...stats, queued: queue.length }),
    /** Finishes what is queued (graceful shutdown): commit, ack, answer. */
    async drain() {
      if (timer) clearTimeout(timer);
      timer = null;
      while (queue.length > 0 || running) {
        kick();
        await running;
      }
      stopped = true;
    },
  };
}
