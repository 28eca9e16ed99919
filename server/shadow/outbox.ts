// Publishes messages that follow committed changes (mqtt_outbox), e.g. the
// shadow/delta after a desired-state change made by the web or the rollout
// controller. Rows are claimed with SKIP LOCKED, so several workers can drain
// together; a row is marked published only after the broker acknowledged it
// (at least once: a delta carries its version, so a repeat is harmless).
import type pg from "pg";
import type { Publisher } from "@/server/mqtt/publisher.ts";

const BATCH = 500;
const POLL_MS = 5000;

export function startOutboxDrainer(pool: pg.Pool, publisher: Publisher, onPublished: (deviceIds: string[]) => void) {
  let stopped = false;
  let draining: Promise<void> | null = null;
  let again = false;
  let listener: pg.PoolClient | null = null;

  async function drainOnce(): Promise<number> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string; device_id: string; topic: string; payload: unknown }>(
        `SELECT id, device_id, topic, payload FROM mqtt_outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [BATCH],
      );
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      await Promise.all(rows.map((r) => publisher.publishConfirmed(r.topic, r.payload)));
      await client.query(`UPDATE mqtt_outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      await client.query("COMMIT");
      onPublished([...new Set(rows.map((r) => r.device_id))]);
      return rows.length;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  function drain() {
    if (stopped) return;
    if (draining) {
      again = true;
      return;
    }
    draining = (async () => {
      do {
        again = false;
        try {
          while (!stopped && (await drainOnce()) === BATCH);
        } catch (err) {
          console.error("[outbox] publish failed, will retry:", (err as Error).message);
        }
      } while (again && !stopped);
    })().finally(() => {
      draining = null;
    });
  }

  void (async () => {
    listener = await pool.connect();
    listener.on("notification", () => drain());
    await listener.query("LISTEN fleetwave_outbox");
    drain();
  })().catch((err: Error) => console.error("[outbox] cannot listen:", err.message));
  const poll = setInterval(drain, POLL_MS);
  poll.unref();

  return {
    name: "outbox",
    async stop() {
      stopped = true;
      clearInterval(poll);
      await draining;
      if (listener) {
        await listener.query("UNLISTEN fleetwave_outbox").catch(() => undefined);
        listener.release();
      }
    },
  };
}
