// Wires the ingest into the worker: the acking consumer feeds the pipeline and
// carries its answers (a batch's answers leave as one write, right after its
// acknowledgements), the publisher connection announces desired changes from
// the outbox, and committed changes are pushed live (coalesced).
import { hostname } from "node:os";
import { config } from "@/server/config.ts";
import { getPool } from "@/server/db/client.ts";
import { startAckingConsumer } from "@/server/mqtt/acking-consumer.ts";
import { connectPublisher } from "@/server/mqtt/publisher.ts";
import { RateLimitedQueue } from "@/server/mqtt/rate-limited-queue.ts";
import { DEVICE_TOPICS, deviceTopic, sharedFilter } from "@/server/mqtt/topics.ts";
import { publishLive } from "@/server/live/publish.ts";
import { FLEET_ROOM } from "@/server/live/rooms.ts";
import type { Response } from "@/server/shadow/batch-rules.ts";
import { createIngest } from "@/server/shadow/ingest.ts";
import { startOutboxDrainer } from "@/server/shadow/outbox.ts";

const LIVE_FLUSH_MS = 500;
const LIVE_MAX_IDS = 1000;

export async function startIngestService() {
  const url = config.mqttUrl;
  if (!url) throw new Error("MQTT_URL is not set");
  const pool = getPool();
  const publisher = await connectPublisher("ingest-pub");
  const topicPrefix = config.topicPrefix;
  const send = (responses: Response[]) =>
    consumer.publish(responses.map((r) => ({ topic: deviceTopic(r.deviceId, r.suffix, topicPrefix), payload: JSON.stringify(r.body) })));
  const syncQueue = new RateLimitedQueue<Response>(send, config.syncRatePerSec);

  const changedIds = new Set<string>();
  let fleetChanged = false;
  const liveTimer = setInterval(() => {
    if (changedIds.size === 0 && !fleetChanged) return;
    publishLive(FLEET_ROOM, "devices.changed", { reason: fleetChanged ? "status" : "shadow", deviceIds: [...changedIds].slice(0, LIVE_MAX_IDS) });
    changedIds.clear();
    fleetChanged = false;
  }, LIVE_FLUSH_MS);
  liveTimer.unref();

  const ingest = createIngest({
    pool,
    publish: send,
    publishSync: (responses) => syncQueue.push(responses),
    onCommitted: ({ devices, onlineChanged, firmwareChanged }) => {
      for (const id of devices) if (changedIds.size < LIVE_MAX_IDS) changedIds.add(id);
      if (onlineChanged || firmwareChanged) fleetChanged = true;
    },
  });

  let accepting = true;
  const consumer = startAckingConsumer({
    url,
    clientId: `fleetwave-ingest-${config.workerId ?? hostname()}`.slice(0, 64),
    username: config.mqttUsername,
    password: config.mqttPassword,
    protocolVersion: config.mqttProtocolVersion,
    receiveMaximum: config.ingestReceiveMaximum,
    sessionExpirySec: config.ingestSessionExpirySec,
    filters: DEVICE_TOPICS.map((t) => sharedFilter(t)),
    // After shutdown begins, messages stay unacknowledged: the broker redelivers them to the next worker.
    onMessage: (msg) => {
      if (accepting) ingest.push(msg);
    },
    onConnect: ({ sessionPresent, epoch }) => console.log(`[ingest] connected to ${url} (session ${sessionPresent ? "resumed" : "new"}, #${epoch})`),
    onError: (err) => console.error("[ingest] mqtt:", err.message),
  });
  const outbox = startOutboxDrainer(pool, publisher, (ids) => {
    ingest.cache.evict(ids);
    for (const id of ids) if (changedIds.size < LIVE_MAX_IDS) changedIds.add(id);
  });

  return {
    name: "ingest",
    ingest,
    consumer,
    async stop() {
      // A worker that will not come back (scaled in) leaves the shared subscription
      // first, so the broker stops routing a share to its session, takes in what was
      // already routed here, then finishes. A worker that restarts keeps the
      // subscription: its session queues messages until it is back, even when it is
      // the only worker.
      if (config.ingestLeaveOnStop) {
        await consumer.unsubscribe();
        let lastSeen = -1;
        for (let waited = 0; waited < 5000; waited += 200) {
          const received = consumer.stats().received;
          if (received === lastSeen) break;
          lastSeen = received;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      accepting = false;
      await ingest.drain();
      syncQueue.flush(); // the rate limit yields to leaving: these go out with the rest
      await consumer.stop({ graceful: true });
      await outbox.stop();
      clearInterval(liveTimer);
      await publisher.stop();
    },
  };
}
