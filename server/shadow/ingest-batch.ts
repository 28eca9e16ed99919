// The stages of one batch in the ingest pipeline (ingest.ts runs them):
//
//   prepare  read the shadows the cache lacks (one query for the whole batch),
//            decide the batch in arrival order, encode its write, and put the
//            states it will commit into the cache at once, so the next batch
//            can be decided against them while this one is being written;
//   write    the one statement (mutations.ts), after the previous batch's COMMIT;
//   finish   after this batch's COMMIT: acknowledge, publish the answers, report;
//   revert   the write failed or conflicted: take its states out of the cache
//            again (the cache then holds what was there before the batch).
import type pg from "pg";
import { parseDeviceTopic } from "@/server/mqtt/topics.ts";
import { decideBatch, type BatchDecision, type BatchMessage, type PendingSync, type Response } from "./batch-rules.ts";
import type { ShadowCache } from "./cache.ts";
import { loadShadows, type StoredShadow } from "./data.ts";
import { ingestKeepsRollups, prepareIngestWrite, type IngestWrite, type ShadowWrite } from "./mutations.ts";

export type IngestInput = { topic: string; payload: Buffer; receivedAt: number; ack(): void };

export type IngestStats = {
  received: number;
  batches: number;
  committed: number;
  conflicts: number;
  failures: number;
  /** Batches decided ahead of a write that then failed or conflicted, and decided again. */
  discarded: number;
  dbTransactions: number;
  queued: number;
};

export type IngestHooks = {
  /** Responses to publish once their batch committed. */
  publish(responses: Response[]): void;
  /** Sync answers (rate-limited by the caller). */
  publishSync(responses: Response[]): void;
  /** After each commit: what changed, for live push. */
  onCommitted?(change: { devices: string[]; onlineChanged: boolean; firmwareChanged: boolean }): void;
};

export type BatchContext = {
  pool: pg.Pool;
  cache: ShadowCache;
  pendingSyncs: Map<string, PendingSync>;
  topicPrefix: string;
  stats: IngestStats;
};

/** What a batch publishes and reports once committed (the rest of its decision is in `write`). */
type Outcome = Pick<BatchDecision, "responses" | "syncs" | "onlineChanged" | "firmwareChanged"> & { changed: string[] };

export type PreparedBatch = {
  inputs: IngestInput[];
  outcome: Outcome;
  write: IngestWrite;
  /** Per device this batch writes: its cache entry before the batch (what it was decided against). */
  before: Map<string, StoredShadow>;
  /** cache.evictions when the batch was decided: another eviction since makes `before` suspect. */
  evictionsAt: number;
};

function committedEntry(entry: StoredShadow, write: ShadowWrite): StoredShadow {
  return {
    device: write.firmwareVersion ? { ...entry.device, firmwareVersion: write.firmwareVersion } : entry.device,
    state: write.next ?? entry.state,
    presence: {
      online: write.online ?? entry.presence.online,
      lastSeenAt: write.lastSeenAt,
      deviceClockAt: write.deviceClockAt ?? entry.presence.deviceClockAt,
      clockSkewSec: write.clockSkewSec ?? entry.presence.clockSkewSec,
    },
  };
}

export async function prepareBatch(ctx: BatchContext, inputs: IngestInput[]): Promise<PreparedBatch> {
  const { cache } = ctx;
  const messages: BatchMessage[] = [];
  for (const input of inputs) {
    const parsed = parseDeviceTopic(input.topic, ctx.topicPrefix);
    if (parsed) messages.push({ deviceId: parsed.deviceId, suffix: parsed.suffix, payload: input.payload, receivedAt: input.receivedAt });
  }
  const ids = [...new Set(messages.map((m) => m.deviceId))];
  const rollups = await ingestKeepsRollups(ctx.pool);
  const first = cache.lookup(ids);
  const misses = first.misses;
  let loaded = first.hits;
  if (misses.length > 0) {
    const found = await loadShadows(ctx.pool, misses);
    ctx.stats.dbTransactions++;
    for (const id of misses) {
      const entry = found.get(id);
      if (entry) cache.set(id, entry);
      else cache.markUnknown(id);
    }
    // Looked up again after the read: the cache may have moved on meanwhile (a batch committed or was reverted).
    loaded = cache.lookup(ids).hits;
  }
  // From here on synchronous: what is decided against and what the cache then holds cannot move in between.
  const decision = decideBatch(messages, loaded, ctx.pendingSyncs, Date.now());
  // Every device the batch writes (changed or only seen) gets the state the batch will commit.
  const before = new Map<string, StoredShadow>();
  for (const w of decision.shadows) {
    const entry = loaded.get(w.deviceId);
    if (!entry) continue;
    before.set(w.deviceId, entry);
    cache.set(w.deviceId, committedEntry(entry, w));
  }
  // Only what is needed after the COMMIT stays referenced: batches now live twice as long (one
  // is decided while the other is written), and whatever survives a young-generation GC is copied.
  const { responses, syncs, onlineChanged, firmwareChanged } = decision;
  const outcome: Outcome = { responses, syncs, onlineChanged, firmwareChanged, changed: [...decision.changed.keys()] };
  return { inputs, outcome, write: prepareIngestWrite(decision, rollups), before, evictionsAt: cache.evictions };
}

/**
 * Takes a batch's states out of the cache. Batches are reverted newest first, so each
 * device ends with the entry it had before the oldest reverted batch. After any other
 * eviction meanwhile (a desired change was published), the saved entries are not trusted.
 */
export function revertBatch(cache: ShadowCache, batch: PreparedBatch, forget = false) {
  if (forget || cache.evictions !== batch.evictionsAt) {
    cache.evict(batch.before.keys());
    return;
  }
  for (const [id, entry] of batch.before) cache.set(id, entry);
}

/** After COMMIT: acknowledge (the broker may forget the messages now), answer, report. */
export function finishBatch(ctx: BatchContext, hooks: IngestHooks, batch: PreparedBatch) {
  const { outcome } = batch;
  for (const input of batch.inputs) input.ack();
  hooks.publish(outcome.responses);
  if (outcome.syncs.length > 0) hooks.publishSync(outcome.syncs);
  ctx.stats.committed += batch.inputs.length;
  if (outcome.changed.length > 0 || outcome.onlineChanged) {
    hooks.onCommitted?.({ devices: outcome.changed, onlineChanged: outcome.onlineChanged, firmwareChanged: outcome.firmwareChanged });
  }
}
