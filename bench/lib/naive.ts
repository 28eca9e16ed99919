// The naive pipeline the real worker is compared with: MQTT.js (protocol 5,
// customHandleAcks, so the PUBACK waits for the commit) and, per message, one
// Prisma transaction holding an upsert of the shadow and an insert of the
// event, then the PUBACK and the answer. MQTT.js delivers the next message
// only after the previous one's ack callback, so every message is its own
// transaction. It validates nothing (no replay, sequence, version or
// transition checks, no findings, no rollups): that only flatters it.
import mqtt from "mqtt";
import { disconnectDb, prisma } from "@/server/db/client.ts";
import type { BrokerLogin } from "./fleet.ts";
import { onCleanup } from "./proc.ts";

type Update = { seq: number; version: number; deviceTime: number; state: { reported: Record<string, unknown> } };

export type NaiveConsumer = { handled: () => number; failures: () => number; stop(): Promise<void> };

export async function startNaiveConsumer(login: BrokerLogin, databaseUrl: string): Promise<NaiveConsumer> {
  // server/db/client.ts connects lazily, to DATABASE_URL, once per process.
  await disconnectDb();
  process.env.DATABASE_URL = databaseUrl;
  let handled = 0;
  let failures = 0;
  const client = await mqtt.connectAsync(login.url, {
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,
    clientId: `bench-naive-${Math.random().toString(36).slice(2, 8)}`,
    username: login.username,
    password: login.password,
    customHandleAcks: (topic, message, _packet, done) => {
      void (async () => {
        const deviceId = topic.split("/")[1]!;
        try {
          const m = JSON.parse(message.toString()) as Update;
          const now = new Date();
          const shadow = { version: m.version, reported: m.state.reported as object, lastSeq: BigInt(m.seq), lastSeenAt: now, online: true };
          await prisma.$transaction([
            prisma.deviceShadow.upsert({ where: { deviceId }, create: { deviceId, ...shadow }, update: shadow }),
            prisma.$executeRaw`INSERT INTO shadow_events (device_id, server_time, device_time, kind, outcome, seq, version, accepted_version, payload)
                               VALUES (${deviceId}, ${now}, ${new Date(m.deviceTime * 1000)}, 'update', 'accepted', ${BigInt(m.seq)},
                                       ${m.version}, ${m.version}, ${message.toString()}::jsonb)`,
          ]);
          handled++;
          done(0);
          client.publish(`fleet/${deviceId}/shadow/update/accepted`, JSON.stringify({ version: m.version, timestamp: now.getTime() / 1000, duplicate: false }), { qos: 1 });
        } catch (err) {
          failures++;
          if (failures <= 3) console.error("[bench naive]", (err as Error).message);
          done(0x80); // unspecified error: acknowledged as failed, not retried (a baseline, not a product)
        }
      })();
    },
  });
  await client.subscribeAsync("fleet/+/shadow/update", { qos: 1 });
  const stop = async () => {
    await Promise.race([client.endAsync(true), new Promise((r) => setTimeout(r, 3000))]).catch(() => undefined);
    await disconnectDb().catch(() => undefined);
  };
  onCleanup("naive consumer", stop);
  return { handled: () => handled, failures: () => failures, stop };
}
