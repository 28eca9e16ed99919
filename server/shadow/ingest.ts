// The ingest pipeline: messages are taken in as they arrive and handled in
// batches (size or time, whichever first), in two overlapping stages:
//
//   prepare (JavaScript)   batch N+1 is read, decided and encoded against the
//                          states batch N will commit (kept in the cache),
//   write (PostgreSQL)     while batch N's one statement runs.
//
// Batch N+1's write goes out only once N's COMMIT is confirmed, and a batch is
// acknowledged and answered only after its own COMMIT, so a crash before it
// loses nothing (the broker redelivers) and a crash after it is harmless
// (replays are answered as duplicates). If N conflicts or fails, N+1's
// prepared work is thrown away and N's states taken out of the cache; N is
// decided again from fresh reads until it commits, then N+1. Batches commit in
// the order they were taken, so a device's messages keep their order.
import type pg from "pg";
import { config } from "@/server/config.ts";
import type { PendingSync, Response } from "./batch-rules.ts";
import { ShadowCache } from "./cache.ts";
import { finishBatch, prepareBatch, revertBatch, type BatchContext, type IngestHooks, type IngestInput, type IngestStats, type PreparedBatch } from "./ingest-batch.ts";
import { runIngestWrite, ShadowConflict } from "./mutations.ts";

export type { IngestInput, IngestStats } from "./ingest-batch.ts";

export type IngestOptions = IngestHooks & {
  pool: pg.Pool;
  cache?: ShadowCache;
  maxBatch?: number;
  maxWaitMs?: number;
};

const MAX_CONFLICT_RETRIES = 5;
const backoffMs = (failures: number) => Math.min(5000, 100 * 2 ** Math.max(0, failures - 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createIngest(options: IngestOptions) {
  const maxBatch = options.maxBatch ?? Number(process.env.INGEST_BATCH_SIZE ?? 1000);
  const maxWaitMs = options.maxWaitMs ?? Number(process.env.INGEST_BATCH_WAIT_MS ?? 4);
  const cache = options.cache ?? new ShadowCache();
  const stats: IngestStats = { received: 0, batches: 0, committed: 0, conflicts: 0, failures: 0, discarded: 0, dbTransactions: 0, queued: 0 };
  const ctx: BatchContext = { pool: options.pool, cache, pendingSyncs: new Map<string, PendingSync>(), topicPrefix: config.topicPrefix, stats };
  const queue: IngestInput[] = [];
  let preparing: Promise<void> | null = null;
  let ready: PreparedBatch | null = null; // decided, waiting for the previous write to commit
  let writing: PreparedBatch | null = null; // its statement is in flight
  let recovering = false; // a failed batch is being decided and written again, alone
  let generation = 0; // bumped by each failed write: work prepared before it is stale
  let holdUntil = 0; // after a failed read: no new batch before then
  let readFailures = 0; // in a row
  let draining = false;
  let timer: NodeJS.Timeout | null = null;
  const idle: Array<() => void> = [];
  // Writes go over a connection of their own, held between batches: a batch's statement is
  // then on the wire the moment the previous one committed, before any other JavaScript
  // runs (a pool hands out connections a tick later, after the next batch's decisions).
  let writer: pg.PoolClient | null = null;
  let connecting: Promise<pg.PoolClient> | null = null;

  function connectWriter(): Promise<pg.PoolClient> {
    connecting ??= options.pool.connect().then(
      (client) => {
        client.on("error", (err) => console.error("[ingest] database connection:", err.message)); // the failing query reports it too
        writer = client;
        return client;
      },
      (err: unknown) => {
        connecting = null;
        throw err;
      },
    );
    return connecting;
  }

  /** After a failed write the connection may be broken: a new one next time. */
  function dropWriter() {
    writer?.release(true);
    writer = null;
    connecting = null;
  }

  const isIdle = () => queue.length === 0 && !preparing && !ready && !writing && !recovering;

  function pump() {
    if (!recovering) {
      if (ready && !writing) startWrite(ready);
      if (!ready && !preparing && queue.length > 0) {
        const now = Date.now();
        const due = draining || queue.length >= maxBatch ? now : queue[0]!.receivedAt + maxWaitMs;
        const at = Math.max(due, holdUntil);
        if (at <= now) startPrepare();
        else if (!timer) timer = setTimeout(() => ((timer = null), pump()), at - now);
      }
    }
    if (isIdle() && idle.length > 0) for (const resolve of idle.splice(0)) resolve();
  }

  function startPrepare() {
    const inputs = queue.splice(0, maxBatch);
    const at = generation;
    stats.batches++;
    preparing = connectWriter().then(() => prepareBatch(ctx, inputs)).then(
      (batch) => {
        preparing = null;
        readFailures = 0;
        // Decided against states a failed write has taken back: decide it again later.
        if (at !== generation || recovering) discard(batch);
        else ready = batch;
        pump();
      },
      (err: Error) => {
        // Reading the shadows failed (the database is down): nothing was decided; try again later.
        preparing = null;
        stats.failures++;
        holdUntil = Date.now() + backoffMs(++readFailures);
        console.error(`[ingest] preparing a batch of ${inputs.length} failed:`, err.message);
        queue.unshift(...inputs);
        pump();
      },
    );
  }

  /** Back to the head of the queue, undecided. */
  function discard(batch: PreparedBatch) {
    revertBatch(cache, batch);
    stats.discarded++;
    queue.unshift(...batch.inputs);
  }

  function startWrite(batch: PreparedBatch) {
    ready = null;
    writing = batch;
    runIngestWrite(writer ?? options.pool, batch.write).then(
      () => {
        writing = null;
        stats.dbTransactions++;
        // The next batch goes to the database first, then this one is acknowledged and answered.
        if (ready && !recovering) startWrite(ready);
        finish(batch);
        pump();
      },
      (err: unknown) => {
        writing = null;
        recover(batch, err).catch((bug: Error) => console.error("[ingest] recovery stopped:", bug));
      },
    );
  }

  function finish(batch: PreparedBatch) {
    try {
      finishBatch(ctx, options, batch);
    } catch (err) {
      // Committed and acknowledged: what is left (answers, live push) is not worth a redelivery.
      console.error("[ingest] answering a committed batch:", (err as Error).message);
    }
  }

  /** Batch N's write failed or conflicted: N+1 is put back, N decided and written alone until it commits. */
  async function recover(failed: PreparedBatch, first: unknown) {
    recovering = true;
    generation++;
    if (ready) {
      discard(ready);
      ready = null;
    }
    await preparing; // settles by putting its batch back (generation moved on)
    let err = first;
    let batch: PreparedBatch | null = failed;
    for (let conflicts = 0, failures = 0; ; ) {
      if (batch) revertBatch(cache, batch, !(err instanceof ShadowConflict));
      if (!(err instanceof ShadowConflict)) dropWriter();
      if (err instanceof ShadowConflict && conflicts < MAX_CONFLICT_RETRIES) {
        // Another worker (or a desired change) moved these shadows on: read them again and decide anew.
        conflicts++;
        stats.conflicts++;
        cache.evict(err.deviceIds);
      } else {
        // Nothing was acknowledged: keep the batch and try again once the database is back.
        failures++;
        conflicts = 0;
        stats.failures++;
        if (err instanceof ShadowConflict) cache.evict(failed.before.keys());
        console.error(`[ingest] batch of ${failed.inputs.length} failed (attempt ${failures}):`, (err as Error).message);
        await sleep(backoffMs(failures));
      }
      batch = null;
      try {
        const client = await connectWriter();
        batch = await prepareBatch(ctx, failed.inputs);
        await runIngestWrite(client, batch.write);
        stats.dbTransactions++;
        finish(batch);
        break;
      } catch (next) {
        err = next;
      }
    }
    recovering = false;
    pump();
  }

  return {
    cache,
    push(input: IngestInput) {
      stats.received++;
      queue.push(input);
      pump();
    },
    stats: (): IngestStats => ({ ...stats, queued: queue.length }),
    /** Finishes what is queued and in flight (graceful shutdown): commit, ack, answer. */
    async drain() {
      draining = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const done = new Promise<void>((resolve) => idle.push(resolve));
      pump();
      await done;
      if (writer) writer.release();
      writer = null;
      connecting = null;
    },
  };
}
