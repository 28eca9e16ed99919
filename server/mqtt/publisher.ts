// The platform's publishing connection (responses, syncs, deltas). Separate
// from the ingest's consuming connection so acknowledgements and publications
// never wait on each other.
import { hostname } from "node:os";
import mqtt, { type MqttClient } from "mqtt";
import { config } from "@/server/config.ts";

export type Publisher = {
  publish(topic: string, body: unknown): void;
  /** Resolves once the broker acknowledged (QoS 1). */
  publishConfirmed(topic: string, body: unknown): Promise<void>;
  stop(): Promise<void>;
  readonly client: MqttClient;
};

export async function connectPublisher(role: string): Promise<Publisher> {
  const url = config.mqttUrl;
  if (!url) throw new Error("MQTT_URL is not set");
  const client = mqtt.connect(url, {
    clientId: `fleetwave-${role}-${hostname()}-${process.pid}`.slice(0, 64),
    username: config.mqttUsername,
    password: config.mqttPassword,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  });
  client.on("error", (err) => console.error(`[mqtt:${role}]`, err.message));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cannot connect to the MQTT broker at ${url}`)), 15_000);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    client,
    publish(topic, body) {
      client.publish(topic, JSON.stringify(body), { qos: 1 });
    },
    publishConfirmed(topic, body) {
      return new Promise((resolve, reject) => client.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    },
    stop: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}
