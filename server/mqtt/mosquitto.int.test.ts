// Runs the shipped Mosquitto config (server/mqtt/mosquitto) through
// startTestMosquitto (generated passwords, free ports, a temp dir) and checks
// the ACL from outside.
import { connect as mqttConnect, connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestMosquitto, type TestMosquitto } from "./test-broker.ts";

const DEVICE_IDS = ["dev-a", "dev-b"] as const;
let broker: TestMosquitto;
let devicePort = 0;
let platformPort = 0;
let PLATFORM: { username: string; password: string };
const clients: MqttClient[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  broker = await startTestMosquitto({ devices: [...DEVICE_IDS] });
  devicePort = Number(new URL(broker.deviceUrl).port);
  platformPort = Number(new URL(broker.platformUrl).port);
  PLATFORM = { username: broker.platformUsername, password: broker.platformPassword };
});
afterAll(async () => {
  await broker?.stop();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
});

async function connect(port: number, options: IClientOptions): Promise<MqttClient> {
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  return client;
}
const platform = (options: IClientOptions = {}) =>
  connect(platformPort, { clientId: `platform-${Math.random().toString(36).slice(2)}`, ...PLATFORM, ...options });
const device = (id: (typeof DEVICE_IDS)[number], options: IClientOptions = {}) =>
  connect(devicePort, { clientId: id, username: id, password: broker.devicePassword(id), ...options });

function collect(client: MqttClient): Array<{ topic: string; payload: string }> {
  const received: Array<{ topic: string; payload: string }> = [];
  client.on("message", (topic, payload) => received.push({ topic, payload: payload.toString() }));
  return received;
}
async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
  }
}
describe("shipped Mosquitto config", () => {
  it("delivers a device's own topics to the platform's shared subscription", async () => {
    const p = await platform();
    const received = collect(p);
    await p.subscribeAsync("$share/ingest/fleet/+/shadow/update", { qos: 1 });
    const d = await device("dev-a");
    await d.publishAsync("fleet/dev-a/shadow/update", "hello", { qos: 1 });
    await until(() => received.length === 1);
    expect(received[0]).toEqual({ topic: "fleet/dev-a/shadow/update", payload: "hello" });
  });

  it("does not deliver a device's publish into another device's topics", async () => {
    const p = await platform();
    const received = collect(p);
    await p.subscribeAsync("fleet/#", { qos: 1 });
    // Mosquitto 2.0 acknowledges a denied publish (MQTT 5: reason 135), then
    // drops the connection (eclipse-mosquitto/mosquitto#2579).
    const d = await device("dev-a");
    const closed = new Promise<void>((resolve) => d.once("close", () => resolve()));
    await d.publishAsync("fleet/dev-b/shadow/update", "forged", { qos: 1, retain: true });
    await closed;
    const d5 = await device("dev-a", { protocolVersion: 5 });
    await expect(d5.publishAsync("fleet/dev-b/status", "forged", { qos: 1 })).rejects.toMatchObject({ code: 135 });
    const again = await device("dev-a");
    await again.publishAsync("fleet/dev-a/status", "marker", { qos: 1 });
    await until(() => received.length > 0);
    await sleep(200);
    expect(received.map((m) => m.payload)).toEqual(["marker"]);
  });

  it("never delivers another device's messages to a device, whatever it subscribes to", async () => {
    const other = await device("dev-b");
    await other.publishAsync("fleet/dev-b/status", "b-retained", { qos: 1, retain: true });
    const d = await device("dev-a");
    const received = collect(d);
    // Unlike the embedded broker, Mosquitto 2.0 grants any filter and applies
    // the ACL to each message it would deliver instead.
    await d.subscribeAsync(["fleet/+/status", "#", "fleet/dev-b/#"], { qos: 1 });
    await other.publishAsync("fleet/dev-b/status", "b-live", { qos: 1 });
    await d.publishAsync("fleet/dev-a/status", "a-live", { qos: 1 });
    await until(() => received.some((m) => m.payload === "a-live"));
    await sleep(200);
    expect(received.filter((m) => !m.topic.startsWith("fleet/dev-a/"))).toEqual([]);
  });

  it("refuses anonymous clients and wrong passwords", async () => {
    await expect(connect(devicePort, { clientId: "dev-a" })).rejects.toMatchObject({ code: 5 });
    await expect(connect(devicePort, { clientId: "dev-a", username: "dev-a", password: "wrong" })).rejects.toMatchObject({ code: 5 });
    await expect(connect(devicePort, { clientId: "dev-c", username: "dev-c", password: "pw" })).rejects.toMatchObject({ code: 5 });
    await expect(connect(platformPort, { clientId: "p", username: PLATFORM.username, password: "wrong" })).rejects.toMatchObject({ code: 5 });
  });

  it("does not let a device borrow another device's client id", async () => {
    const victim = await device("dev-b");
    const closed = new Promise((resolve) => victim.once("close", () => resolve("closed")));
    await device("dev-a", { clientId: "dev-b" }); // becomes client id "dev-a"
    expect(await Promise.race([closed, sleep(300).then(() => "still connected")])).toBe("still connected");
  });

  it("queues QoS 1 messages beyond Mosquitto's default limit for an offline subscriber", { timeout: 60_000 }, async () => {
    const session = { clientId: "ingest-worker", clean: false };
    const first = await platform(session);
    await first.subscribeAsync("fleet/+/sync/request", { qos: 1 });
    await first.endAsync();
    const d = await device("dev-a");
    const count = 1500; // the default max_queued_messages (1000) would drop 500
    await Promise.all(Array.from({ length: count }, (_, i) => d.publishAsync("fleet/dev-a/sync/request", String(i), { qos: 1 })));
    // Listen before CONNACK: the queued messages follow it immediately.
    const back = mqttConnect(`mqtt://127.0.0.1:${platformPort}`, { ...PLATFORM, ...session, reconnectPeriod: 0 });
    clients.push(back);
    const received = collect(back);
    await until(() => received.length >= count, 30_000);
    expect(received).toHaveLength(count);
    expect(new Set(received.map((m) => m.payload)).size).toBe(count);
  });
});
