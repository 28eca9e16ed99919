import { connect as mqttConnect, connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type DeniedEvent, type EmbeddedBroker } from "./embedded-broker.ts";

const PLATFORM = { username: "fleetwave-platform", password: "platform-secret" };
let broker: EmbeddedBroker;
const deniedEvents: DeniedEvent[] = [];
const devicePasswords = new Map([["locked-device", "right"]]);
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startEmbeddedBroker({
    platformUsername: PLATFORM.username,
    platformPassword: PLATFORM.password,
    topicPrefix: "fleet",
    // Devices without a stored password get in, like the default.
    authenticateDevice: async (id, password) => (devicePasswords.get(id) ?? password) === password,
    onDenied: (event) => deniedEvents.push(event),
  });
});
afterAll(() => broker.stop());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
});

async function connect(options: IClientOptions): Promise<MqttClient> {
  const client = await connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  return client;
}
const platform = (options: IClientOptions = {}) =>
  connect({ clientId: `platform-${Math.random().toString(36).slice(2)}`, ...PLATFORM, ...options });
const device = (id: string, options: IClientOptions = {}) => connect({ clientId: id, username: id, password: "pw", ...options });

type Received = { topic: string; payload: string; retain: boolean };
function collect(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on("message", (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return received;
}
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("embedded broker", () => {
  it("delivers a device's publish on its own topic to the platform", async () => {
    const p = await platform();
    const received = collect(p);
    await p.subscribeAsync("fleet/+/shadow/update", { qos: 1 });
    const d = await device("dev-a");
    await d.publishAsync("fleet/dev-a/shadow/update", '{"seq":1}', { qos: 1 });
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ topic: "fleet/dev-a/shadow/update", payload: '{"seq":1}' });
  });

  it("drops a device's publish into another device's topics but keeps it connected", async () => {
    const p = await platform();
    const received = collect(p);
    await p.subscribeAsync("fleet/#", { qos: 1 });
    const d = await device("dev-b");
    // Acknowledged (like Mosquitto), so a QoS 1 client does not resend it forever.
    await d.publishAsync("fleet/dev-c/shadow/update", "forged", { qos: 1 });
    await d.publishAsync("fleet/dev-c/status", "forged", { qos: 1, retain: true });
    await d.publishAsync("fleet/dev-b/status", "marker", { qos: 1 });
    await until(() => received.some((m) => m.payload === "marker"));
    await sleep(100);
    expect(received.map((m) => m.payload)).toEqual(["marker"]);
    expect(d.connected).toBe(true);
    expect(deniedEvents).toContainEqual(expect.objectContaining({ clientId: "dev-b", action: "publish", topic: "fleet/dev-c/shadow/update" }));
    // The forged retained message was not stored either.
    const late = await platform();
    const lateReceived = collect(late);
    await late.subscribeAsync("fleet/dev-c/#", { qos: 1 });
    await sleep(100);
    expect(lateReceived).toEqual([]);
  });

  it("refuses device subscriptions outside the device's subtree with QoS 128", async () => {
    const d = await device("dev-d");
    const filters = ["fleet/+/status", "#", "fleet/dev-e/#", "fleet/dev-d/#"];
    // MQTT.js reports any 0x80 grant as an error that carries the SUBACK.
    const suback = await d.subscribeAsync(filters, { qos: 1 }).then(
      () => null,
      (err: { packet?: { granted?: unknown } }) => err.packet,
    );
    expect(suback?.granted).toEqual([128, 128, 128, 1]);
  });

  it("keeps a device's retained status and publishes its will when it dies", async () => {
    const will = { topic: "fleet/dev-f/status", payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true };
    const d = await device("dev-f", { will });
    await d.publishAsync("fleet/dev-f/status", '{"online":true}', { qos: 1, retain: true });

    const p1 = await platform();
    const seen = collect(p1);
    await p1.subscribeAsync("fleet/+/status", { qos: 1 });
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual({ topic: "fleet/dev-f/status", payload: '{"online":true}', retain: true });

    d.stream.destroy(); // no DISCONNECT: the broker must publish the will
    await until(() => seen.length === 2);
    expect(seen[1]).toMatchObject({ topic: "fleet/dev-f/status", payload: '{"online":false}' });

    const p2 = await platform();
    const late = collect(p2);
    await p2.subscribeAsync("fleet/dev-f/status", { qos: 1 });
    await until(() => late.length === 1);
    expect(late[0]).toEqual({ topic: "fleet/dev-f/status", payload: '{"online":false}', retain: true });
  });

  it("does not publish a device's will aimed at another device", async () => {
    const p = await platform();
    const seen = collect(p);
    await p.subscribeAsync("fleet/dev-h/#", { qos: 1 });
    const will = { topic: "fleet/dev-h/status", payload: Buffer.from("forged"), qos: 1 as const, retain: true };
    const d = await device("dev-g", { will });
    d.stream.destroy();
    await until(() => deniedEvents.some((e) => e.clientId === "dev-g" && e.topic === "fleet/dev-h/status"));
    await sleep(100);
    expect(seen).toEqual([]);
  });

  it("refuses connections whose identity does not hold", async () => {
    const refused = (options: IClientOptions) => expect(connect(options)).rejects.toMatchObject({ code: expect.any(Number) });
    await refused({ clientId: "dev-x", username: "dev-y", password: "pw" }); // client id ≠ username
    await refused({ clientId: "dev-x" }); // anonymous
    await refused({ clientId: "bad/id", username: "bad/id", password: "pw" });
    await refused({ clientId: "platform-1", username: PLATFORM.username, password: "wrong" });
    await refused({ clientId: "locked-device", username: "locked-device", password: "wrong" });
    await expect(device("locked-device", { password: "right" })).resolves.toBeDefined();
    await expect(connect({ clientId: "dev-x", username: "dev-y", password: "pw" })).rejects.toMatchObject({ code: 2 });
  });

  it("serves `$share/...` filters to a single platform subscriber", async () => {
    const p = await platform();
    const received = collect(p);
    const [grant] = await p.subscribeAsync("$share/ingest/fleet/+/sync/request", { qos: 1 });
    expect(grant?.qos).toBe(1);
    const d = await device("dev-s");
    await d.publishAsync("fleet/dev-s/sync/request", "{}", { qos: 1 });
    await until(() => received.length === 1);
    expect(received[0]?.topic).toBe("fleet/dev-s/sync/request");
  });

  it("does not drop QoS 1 messages for a subscriber that stops reading", { timeout: 30_000 }, async () => {
    const p = await platform({ clientId: "slow-worker", clean: false });
    const received = collect(p);
    await p.subscribeAsync("fleet/+/shadow/update", { qos: 1 });
    p.stream.pause(); // the platform's socket fills up; the broker must wait, not drop
    const d = await device("dev-load");
    const payload = "x".repeat(4096);
    const count = 2000;
    const published = Promise.all(
      Array.from({ length: count }, (_, i) => d.publishAsync("fleet/dev-load/shadow/update", `${i}:${payload}`, { qos: 1 })),
    );
    await sleep(1500);
    expect(received.length).toBeLessThan(count);
    p.stream.resume();
    await published;
    await until(() => received.length === count, 20_000);
    expect(received.map((m) => Number(m.payload.split(":")[0]))).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it("queues QoS 1 messages for an offline persistent session", { timeout: 30_000 }, async () => {
    const session = { clientId: "ingest-worker", clean: false };
    const first = await platform(session);
    await first.subscribeAsync("fleet/+/sync/request", { qos: 1 });
    await first.endAsync();
    const d = await device("dev-offline");
    const count = 1500;
    await Promise.all(Array.from({ length: count }, (_, i) => d.publishAsync("fleet/dev-offline/sync/request", String(i), { qos: 1 })));
    // Listen before CONNACK: the queued messages follow it immediately.
    const back = mqttConnect(broker.url, { ...PLATFORM, ...session, reconnectPeriod: 0 });
    clients.push(back);
    const received = collect(back);
    await until(() => received.length >= count, 20_000);
    expect(received.map((m) => Number(m.payload))).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it("redelivers QoS 1 messages a crashed persistent subscriber never acknowledged", async () => {
    const session = { clientId: "crashing-worker", clean: false };
    const worker = await platform(session);
    const held: string[] = [];
    // Never acknowledge, like a worker that dies before its commit.
    worker.handleMessage = (packet) => void held.push(String(packet.payload));
    await worker.subscribeAsync("fleet/+/shadow/update", { qos: 1 });
    const d = await device("dev-crash");
    await d.publishAsync("fleet/dev-crash/shadow/update", "uncommitted", { qos: 1 });
    await until(() => held.length === 1);
    worker.stream.destroy();
    const back = mqttConnect(broker.url, { ...PLATFORM, ...session, reconnectPeriod: 0 });
    clients.push(back);
    const received = collect(back);
    await until(() => received.length === 1);
    expect(received[0]?.payload).toBe("uncommitted");
  });

  it("speaks MQTT 3.1.1 only: an MQTT 5 client is refused (aedes 1.x)", async () => {
    await expect(platform({ protocolVersion: 5 })).rejects.toBeDefined();
  });
});
