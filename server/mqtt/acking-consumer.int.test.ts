// The ack-after-commit consumer (acking-consumer.ts) against real brokers: a
// private Mosquitto 2.0 (MQTT 5) on a free port, and the embedded aedes broker
// (MQTT 3.1.1 only, so the consumer runs with protocolVersion 4 there).
//
// Broker behaviour these tests pin down (see the report in acking-consumer.ts):
// - Mosquitto honours an MQTT 5 client's Receive Maximum for the first window
//   (max_inflight_messages does not cap it), but 2.0.11 then releases up to a
//   whole window per PUBACK; the consumer holds the excess back itself.
// - Mosquitto sets dup on redelivery; aedes 1.2 does not.
// - Mosquitto's shared subscriptions also hand messages to a member that is
//   offline with a persistent session: they wait for that client id to return.
// - aedes has no shared subscriptions (the embedded broker maps $share/g/f to f).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { generate, parser as createParser, type IConnackPacket, type IPublishPacket, type Packet } from "mqtt-packet";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  startAckingConsumer,
  type AckingConsumer,
  type AckingConsumerOptions,
  type InboundMessage,
  type OutboundMessage,
} from "./acking-consumer.ts";
import { fullJitterBackoff } from "./backoff.ts";
import { startEmbeddedBroker, type EmbeddedBroker } from "./embedded-broker.ts";
import { freePort } from "@/server/ports.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const AUTH = { username: "fleetwave-platform", password: "platform-secret" };
let dir = "";

// --- helpers ----------------------------------------------------------------
async function until(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(5)) {
    if (Date.now() > deadline) throw new Error(`${what} not met in ${timeoutMs} ms`);
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const uid = () => Math.random().toString(36).slice(2, 8);
const numbers = (msgs: InboundMessage[]) => msgs.map((m) => Number(m.payload.toString())).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

type Mosquitto = { port: number; url: string; stop(): Promise<void> };
// Test config: anonymous, no persistence, never drop QoS 1 for a slow or offline
// subscriber. max_inflight_messages stays at its default (20): an MQTT 5 client's
// Receive Maximum governs what it is sent.
async function startMosquitto(name: string, port?: number): Promise<Mosquitto> {
  port ??= await freePort();
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_queued_messages 0", "max_queued_bytes 0", "persistence false",
      "set_tcp_nodelay true", "connection_messages false", "log_dest stderr", "log_type error", "log_type warning"].join("\n") + "\n",
  );
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", "mosquitto:", dir]); // it drops to its own user
  const proc = spawn("/usr/sbin/mosquitto", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => (output += chunk.toString());
  proc.stdout.on("data", collect);
  proc.stderr.on("data", collect);
  // Ready when the port accepts connections ("running" is logged at a level we keep off).
  for (const deadline = Date.now() + 10_000; ; await sleep(20)) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited (${proc.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}:\n${output}`);
    const listening = await new Promise<boolean>((resolve) => {
      const probe = net.connect(port, "127.0.0.1", () => (probe.destroy(), resolve(true))).once("error", () => resolve(false));
    });
    if (listening) break;
  }
  expect(output).not.toMatch(/Error/);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

// A TCP proxy in front of a broker that records what each side sent, in the order it
// saw it, per proxied connection (1, 2, …), and that the tests can cut (both sides
// closed), freeze (silently drops what the broker sends, like a dead path: the broker
// still hears the client's PINGREQs and keeps the connection, so only the client's
// keepalive can notice) or make refuse new connections.
type Tapped = { conn: number; from: "client" | "broker"; packet: Packet };
type TapProxy = {
  url: string;
  log: Tapped[];
  /** Close every proxied connection (both sides), like a broker-side drop. */
  cut(): void;
  /** Silently drop what the broker sends on the current connections (its PUBACKs never arrive). */
  freeze(): void;
  /** While on, new connections are closed at once (the broker is unreachable). */
  refuse(on: boolean): void;
  close(): Promise<void>;
};
async function startTapProxy(targetPort: number, protocolVersion: 4 | 5): Promise<TapProxy> {
  const pairs = new Set<{ a: net.Socket; b: net.Socket; frozen: boolean }>();
  const log: Tapped[] = [];
  let refusing = false;
  let count = 0;
  const server = net.createServer((a) => {
    if (refusing) return void a.destroy();
    const conn = ++count;
    const b = net.connect(targetPort, "127.0.0.1");
    const pair = { a, b, frozen: false };
    pairs.add(pair);
    const up = createParser({ protocolVersion }).on("packet", (packet: Packet) => log.push({ conn, from: "client", packet }));
    const down = createParser({ protocolVersion }).on("packet", (packet: Packet) => log.push({ conn, from: "broker", packet }));
    a.on("data", (d: Buffer) => (up.parse(d), b.write(d)));
    b.on("data", (d: Buffer) => pair.frozen || (down.parse(d), a.write(d)));
    const end = () => {
      a.destroy();
      b.destroy();
      pairs.delete(pair);
    };
    a.on("close", end).on("error", end);
    b.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const cut = () => pairs.forEach((p) => (p.a.destroy(), p.b.destroy()));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    log,
    cut,
    freeze: () => pairs.forEach((p) => (p.frozen = true)),
    refuse: (on) => void (refusing = on),
    close: () => (cut(), new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

// --- brokers under test -----------------------------------------------------
type BrokerUnderTest = {
  name: string;
  url(): string;
  port(): number;
  protocolVersion: 4 | 5;
  setsDup: boolean;
  sharedSubscriptions: boolean;
};
let mosquitto: Mosquitto;
let aedes: EmbeddedBroker;
const brokers: BrokerUnderTest[] = [
  { name: "Mosquitto 2.0 (MQTT 5)", url: () => mosquitto.url, port: () => mosquitto.port, protocolVersion: 5, setsDup: true, sharedSubscriptions: true },
  { name: "embedded aedes (MQTT 3.1.1)", url: () => aedes.url, port: () => aedes.port, protocolVersion: 4, setsDup: false, sharedSubscriptions: false },
];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-acking-"));
  mosquitto = await startMosquitto("main");
  aedes = await startEmbeddedBroker({ platformUsername: AUTH.username, platformPassword: AUTH.password, topicPrefix: "fleet" });
});
afterAll(async () => {
  await Promise.all([mosquitto?.stop(), aedes?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function publisher(url: string): Promise<MqttClient> {
  const client = await connectAsync(url, { ...AUTH, clientId: `pub-${uid()}`, reconnectPeriod: 0, connectTimeout: 5000 });
  cleanups.push(() => client.endAsync(true).catch(() => undefined));
  return client;
}
async function publishRange(client: MqttClient, topic: (n: number) => string, from: number, to: number): Promise<void> {
  await Promise.all(range(from, to).map((n) => client.publishAsync(topic(n), String(n), { qos: 1 })));
}

type Harness = {
  consumer: AckingConsumer;
  messages: InboundMessage[];
  errors: Error[];
  connects: Array<{ sessionPresent: boolean; epoch: number }>;
  /** Epochs of the connections whose SUBACK arrived. */
  subacks: number[];
  /** Resolves once the subscription of connection `epoch` (default 1) is acknowledged. */
  subscribed(epoch?: number): Promise<void>;
};
function consume(broker: BrokerUnderTest, options: Partial<AckingConsumerOptions> & { clientId: string; filters: string[] }): Harness {
  const messages: InboundMessage[] = [];
  const errors: Error[] = [];
  const connects: Harness["connects"] = [];
  const subacks: number[] = [];
  const consumer = startAckingConsumer({
    url: broker.url(),
    ...AUTH,
    protocolVersion: broker.protocolVersion,
    onMessage: (msg) => messages.push(msg),
    onConnect: (info) => connects.push(info),
    onSubscribed: ({ epoch }) => subacks.push(epoch),
    onError: (err) => errors.push(err),
    ...options,
  });
  cleanups.push(() => consumer.stop({ graceful: false }));
  return {
    consumer,
    messages,
    errors,
    connects,
    subacks,
    subscribed: (epoch = 1) => until(() => subacks.includes(epoch), 10_000, `SUBACK on connection ${epoch}`),
  };
}

// --- tests --------------------------------------------------------------------
describe("fullJitterBackoff and PUBACK encoding", () => {
  it("draws from [0, min(cap, base·2^attempt))", () => {
    expect(fullJitterBackoff(0, 200, 10_000, () => 0.999)).toBe(199);
    expect(fullJitterBackoff(3, 200, 10_000, () => 0.5)).toBe(800);
    expect(fullJitterBackoff(10, 200, 10_000, () => 0.999)).toBe(9990);
    expect(fullJitterBackoff(1e6, 200, 10_000, () => 0)).toBe(0);
  });
  it("writes the PUBACKs mqtt-packet would generate", async () => {
    // The consumer hand-encodes PUBACKs (4 bytes each, one buffer per tick).
    for (const messageId of [1, 258, 65535]) {
      const expected = [0x40, 0x02, messageId >> 8, messageId & 0xff];
      expect([...generate({ cmd: "puback", messageId }, { protocolVersion: 4 })]).toEqual(expected);
      expect([...generate({ cmd: "puback", messageId, reasonCode: 0 }, { protocolVersion: 5 })]).toEqual(expected);
    }
  });
});

describe.each(brokers)("acking consumer on $name", (broker) => {
  it("keeps delivering while earlier messages are unacknowledged (500 before any ack)", async () => {
    const run = uid();
    const h = consume(broker, { clientId: `c1-${run}`, filters: [`t/${run}/+/x`], receiveMaximum: 1000 });
    await h.subscribed();
    const pub = await publisher(broker.url());
    await publishRange(pub, (n) => `t/${run}/${n % 10}/x`, 0, 500);
    await until(() => h.messages.length === 500);
    expect(numbers(h.messages)).toEqual(range(0, 500));
    expect(h.consumer.stats()).toMatchObject({ received: 500, acked: 0, unacked: 500 });
    h.messages.forEach((m) => m.ack());
    await until(() => h.consumer.stats().acked === 500);
    expect(h.errors).toEqual([]);
  });

  it("never has more than receiveMaximum messages delivered and unacknowledged", async () => {
    const run = uid();
    const h = consume(broker, { clientId: `win-${run}`, filters: [`t/${run}/x`], receiveMaximum: 20 });
    await h.subscribed();
    const pub = await publisher(broker.url());
    await publishRange(pub, () => `t/${run}/x`, 0, 200);
    let acked = 0;
    while (acked < 200) {
      await until(() => h.messages.length > acked);
      await sleep(30); // give the broker time to overrun the window, if it would
      expect(h.consumer.stats().unacked).toBeLessThanOrEqual(20);
      expect(h.messages.length - acked).toBeLessThanOrEqual(20);
      h.messages.slice(acked).forEach((m) => m.ack());
      acked = h.messages.length;
    }
    expect(numbers(h.messages)).toEqual(range(0, 200)); // in order, none lost, none twice
    expect(h.messages.map((m) => Number(m.payload.toString()))).toEqual(range(0, 200));
  });

  it("acked (late) messages are not redelivered; unacked ones are, after a crash and a new consumer with the same client id", async () => {
    const run = uid();
    const clientId = `c2-${run}`;
    const filters = [`t/${run}/+`];
    const first = consume(broker, { clientId, filters });
    await first.subscribed();
    const pub = await publisher(broker.url());
    await publishRange(pub, (n) => `t/${run}/${n % 4}`, 0, 100);
    await until(() => first.messages.length === 100);
    await sleep(300); // "the commit"
    first.messages.filter((m) => Number(m.payload.toString()) % 2 === 0).forEach((m) => m.ack());
    await until(() => first.consumer.stats().acked === 50);
    await sleep(100);
    await first.consumer.stop({ graceful: false }); // the socket is destroyed: no DISCONNECT

    const second = consume(broker, { clientId, filters });
    await second.subscribed();
    expect(second.connects[0]?.sessionPresent).toBe(true);
    await until(() => second.messages.length >= 50);
    await sleep(300);
    const odd = range(0, 100).filter((n) => n % 2 === 1);
    expect(numbers(second.messages)).toEqual(odd);
    if (broker.setsDup) expect(second.messages.every((m) => m.dup)).toBe(true); // aedes 1.2 leaves dup false

    // Acked and stopped gracefully: nothing comes back.
    second.messages.forEach((m) => m.ack());
    await second.consumer.stop({ graceful: true });
    const third = consume(broker, { clientId, filters });
    await third.subscribed();
    expect(third.connects[0]?.sessionPresent).toBe(true);
    await publishRange(pub, () => `t/${run}/marker`, 1000, 1001);
    await until(() => third.messages.length > 0);
    await sleep(200);
    expect(numbers(third.messages)).toEqual([1000]);
  });

  it("reconnects on its own; an ack from before the reconnect is a no-op, so the redelivery stays unacked", async () => {
    const run = uid();
    const proxy = await startTapProxy(broker.port(), broker.protocolVersion);
    cleanups.push(() => proxy.close());
    const h = consume(broker, { clientId: `c-rc-${run}`, filters: [`t/${run}`], url: proxy.url });
    await h.subscribed(1);
    const pub = await publisher(broker.url());
    await publishRange(pub, () => `t/${run}`, 0, 20);
    await until(() => h.messages.length === 20);
    const epoch1 = h.messages.splice(0);
    epoch1.slice(0, 10).forEach((m) => m.ack());
    await until(() => h.consumer.stats().acked === 10);
    await sleep(100);

    proxy.cut();
    await h.subscribed(2);
    expect(h.connects.at(-1)).toEqual({ sessionPresent: true, epoch: 2 });
    await until(() => h.messages.length === 10);
    expect(numbers(h.messages)).toEqual(range(10, 20));
    expect(h.messages.every((m) => m.epoch === 2)).toBe(true);
    if (broker.setsDup) expect(h.messages.every((m) => m.dup)).toBe(true);
    epoch1.slice(10).forEach((m) => m.ack()); // stale: must not acknowledge the redeliveries
    await sleep(100);
    expect(h.consumer.stats()).toMatchObject({ acked: 10, unacked: 10 });

    const epoch2 = h.messages.splice(0);
    proxy.cut();
    await h.subscribed(3);
    await until(() => h.messages.length === 10);
    expect(numbers(h.messages)).toEqual(range(10, 20));
    epoch2.forEach((m) => m.ack()); // stale again
    h.messages.forEach((m) => m.ack());
    await until(() => h.consumer.stats().acked === 20);
    await sleep(100);
    h.messages.splice(0);
    proxy.cut();
    await h.subscribed(4);
    await sleep(300);
    expect(h.messages).toEqual([]);
    expect(h.consumer.stats().connects).toBe(4);
  });

  it("tears down a connection that stops answering PINGREQ and reconnects", async () => {
    const run = uid();
    const proxy = await startTapProxy(broker.port(), broker.protocolVersion);
    cleanups.push(() => proxy.close());
    const h = consume(broker, { clientId: `c-ka-${run}`, filters: [`t/${run}`], url: proxy.url, keepaliveSec: 1 });
    await h.subscribed(1);
    proxy.freeze();
    const frozenAt = Date.now();
    await h.subscribed(2);
    const detectedIn = Date.now() - frozenAt;
    expect(h.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/no PINGRESP within 1 s/));
    expect(detectedIn).toBeLessThan(5000);
    expect(h.consumer.connected).toBe(true);
  });

  it("survives a kill -9 of a consumer process: every unacked message is redelivered, no acked one", async () => {
    const run = uid();
    const clientId = `c3-${run}`;
    const filter = `t/${run}/+`;
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "test-fixtures", "crash-consumer.ts")], {
      cwd: repoRoot,
      env: {
        ...process.env,
        MQTT_URL: broker.url(),
        CLIENT_ID: clientId,
        FILTER: filter,
        ACK_EVERY: "3",
        PROTOCOL_VERSION: String(broker.protocolVersion),
        MQTT_USERNAME: AUTH.username,
        MQTT_PASSWORD: AUTH.password,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    const events: Array<{ event: string; n?: number; acked?: number[]; message?: string }> = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    readline.createInterface({ input: child.stdout }).on("line", (line) => events.push(JSON.parse(line)));
    await until(() => events.some((e) => e.event === "subscribed") || child.exitCode !== null, 20_000, "child subscribed");
    expect(stderr).toBe("");

    const pub = await publisher(broker.url());
    await publishRange(pub, (n) => `t/${run}/${n % 5}`, 0, 300);
    const received = () => events.filter((e) => e.event === "received").length;
    const acked = () => events.flatMap((e) => e.acked ?? []);
    await until(() => received() === 300 && acked().length === 100, 20_000, "child received and committed");
    await sleep(200);
    child.kill("SIGKILL");
    await exited;
    expect(child.signalCode).toBe("SIGKILL");
    expect(events.filter((e) => e.event === "error")).toEqual([]);

    await publishRange(pub, (n) => `t/${run}/${n % 5}`, 300, 350); // while nobody is connected
    const next = consume(broker, { clientId, filters: [filter] });
    await next.subscribed();
    expect(next.connects[0]?.sessionPresent).toBe(true);
    const unacked = range(0, 300).filter((n) => n % 3 !== 0);
    await until(() => next.messages.length >= unacked.length + 50);
    await sleep(300);
    expect(numbers(next.messages)).toEqual([...unacked, ...range(300, 350)]);
    expect(new Set(acked())).toEqual(new Set(range(0, 300).filter((n) => n % 3 === 0)));
    if (broker.setsDup) {
      expect(next.messages.filter((m) => m.dup).map((m) => Number(m.payload.toString())).sort((a, b) => a - b)).toEqual(unacked);
    }
  });

  it("throughput: 20,000 messages from 4 publishers, acknowledged in batches", { timeout: 120_000 }, async () => {
    const run = uid();
    const total = 20_000;
    let batch: InboundMessage[] = [];
    let commits = 0;
    const seen = new Set<number>();
    const commit = () => {
      commits++;
      for (const m of batch.splice(0)) m.ack();
    };
    const h = consume(broker, {
      clientId: `c4-${run}`,
      filters: [`t/${run}/+/up`],
      receiveMaximum: 2000,
      onMessage(msg) {
        seen.add(Number(msg.payload.toString()));
        // The worker's shape: commit when the batch is full or a few ms after it started.
        if (batch.push(msg) === 500) commit();
        else if (batch.length === 1) setTimeout(() => batch.length > 0 && commit(), 5);
      },
    });
    await h.subscribed();
    const pubs = await Promise.all(range(0, 4).map(() => publisher(broker.url())));
    const started = performance.now();
    await Promise.all(pubs.map((pub, p) => publishRange(pub, (n) => `t/${run}/${n % 100}/up`, (p * total) / 4, ((p + 1) * total) / 4)));
    await until(() => h.consumer.stats().acked === total, 60_000, "all acked");
    const seconds = (performance.now() - started) / 1000;
    console.log(`[acking-consumer] ${broker.name}: ${total} msgs in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} msg/s, ${commits} commits`);
    expect(seen.size).toBe(total);
    expect(h.consumer.stats()).toMatchObject({ received: total, duplicates: 0, unacked: 0 });
  });

  it.skipIf(!broker.sharedSubscriptions)("shared subscription: each message goes to exactly one of two consumers", async () => {
    const run = uid();
    const filters = [`$share/g${run}/t/${run}/+/shadow/update`];
    const a = consume(broker, { clientId: `c5a-${run}`, filters, onMessage: (m) => (a.messages.push(m), m.ack()) });
    const b = consume(broker, { clientId: `c5b-${run}`, filters, onMessage: (m) => (b.messages.push(m), m.ack()) });
    await Promise.all([a.subscribed(), b.subscribed()]);
    const pub = await publisher(broker.url());
    await publishRange(pub, (n) => `t/${run}/d${n % 50}/shadow/update`, 0, 1000);
    await until(() => a.messages.length + b.messages.length >= 1000);
    await sleep(200);
    const [na, nb] = [numbers(a.messages), numbers(b.messages)];
    expect(na.length + nb.length).toBe(1000);
    expect(new Set([...na, ...nb]).size).toBe(1000);
    expect(na.length).toBeGreaterThan(0);
    expect(nb.length).toBeGreaterThan(0);
  });

  it.skipIf(!broker.sharedSubscriptions)("shared subscription: a crashed member's share waits for its client id to return", async () => {
    const run = uid();
    const filters = [`$share/g${run}/t/${run}/+`];
    const a = consume(broker, { clientId: `c6a-${run}`, filters, onMessage: (m) => (a.messages.push(m), m.ack()) });
    const b = consume(broker, { clientId: `c6b-${run}`, filters });
    await Promise.all([a.subscribed(), b.subscribed()]);
    await b.consumer.stop({ graceful: false });
    await sleep(100);
    const pub = await publisher(broker.url());
    await publishRange(pub, (n) => `t/${run}/${n % 7}`, 0, 100);
    await sleep(500);
    // Mosquitto keeps dealing to the offline member's persistent session.
    expect(a.messages.length).toBeLessThan(100);
    const back = consume(broker, { clientId: `c6b-${run}`, filters, onMessage: (m) => (back.messages.push(m), m.ack()) });
    await until(() => a.messages.length + back.messages.length === 100);
    expect(new Set([...numbers(a.messages), ...numbers(back.messages)]).size).toBe(100);
  });
});

describe("acking consumer failures", () => {
  const aedesBroker = brokers[1]!;

  it("reports a refused CONNACK clearly and keeps retrying with backoff", async () => {
    const h = consume(aedesBroker, { clientId: `bad-${uid()}`, filters: ["t/x"], password: "wrong" });
    await until(() => h.errors.length >= 2);
    expect(h.errors[0]).toMatchObject({ reasonCode: 4, message: expect.stringMatching(/refused the connection: 0x04 bad user name or password/) });
    expect(h.consumer.connected).toBe(false);
  });

  it("says so when an MQTT 5 CONNECT reaches an MQTT 3.1.1-only broker (aedes)", async () => {
    const h = consume(aedesBroker, { clientId: `v5-${uid()}`, filters: ["t/x"], protocolVersion: 5 });
    await until(() => h.errors.length >= 1);
    expect(h.errors[0]?.message).toMatch(/0x01 unacceptable protocol version \(an MQTT 3\.1\.1 broker: use protocolVersion 4\)/);
  });

  it("reports a refused subscription with its filter and still serves the others", async () => {
    // The embedded broker's ACL: a device may only subscribe under fleet/{its id}/.
    const id = `dev-${uid()}`;
    const h = consume(aedesBroker, { clientId: id, username: id, password: "any", filters: ["fleet/other/sync", `fleet/${id}/sync`] });
    await h.subscribed();
    expect(h.errors.map((e) => e.message)).toEqual([expect.stringMatching(/subscription to "fleet\/other\/sync" refused: 0x80/)]);
    const pub = await publisher(aedesBroker.url());
    await publishRange(pub, () => `fleet/${id}/sync`, 0, 1);
    await until(() => h.messages.length === 1);
  });

  it("reports a connection the broker closes (aedes drops a client over an invalid filter)", async () => {
    const h = consume(aedesBroker, { clientId: `inv-${uid()}`, filters: ["t/#/bad"] });
    await until(() => h.errors.length >= 1);
    expect(h.errors[0]?.message).toMatch(/connection to mqtt:\/\/127\.0\.0\.1:\d+ was closed by the broker/);
  });

  it("retries while the broker is down and resubscribes when it is back", async () => {
    const broker = await startMosquitto("restart");
    cleanups.push(() => broker.stop());
    const target: BrokerUnderTest = { ...brokers[0]!, url: () => broker.url, port: () => broker.port };
    const h = consume(target, { clientId: `rs-${uid()}`, filters: ["t/restart"], keepaliveSec: 2 });
    await h.subscribed(1);
    await broker.stop();
    await until(() => h.errors.some((e) => /ECONNREFUSED/.test(e.message)), 5000, "a refused reconnect");
    expect(h.consumer.connected).toBe(false);
    const again = await startMosquitto("restart", broker.port);
    cleanups.push(() => again.stop());
    await until(() => h.subacks.length === 2, 15_000, "reconnected and subscribed");
    expect(h.connects.map((c) => c.sessionPresent)).toEqual([false, false]); // persistence off: a new session, subscribed afresh
    const pub = await publisher(again.url);
    await publishRange(pub, () => "t/restart", 0, 3);
    await until(() => h.messages.length === 3);
  });

  it("stop() during a backoff resolves at once and stops retrying", async () => {
    const port = await freePort();
    const h = consume(brokers[0]!, { clientId: `nobody-${uid()}`, filters: ["t/x"], url: `mqtt://127.0.0.1:${port}` });
    await until(() => h.errors.length >= 1);
    await h.consumer.stop();
    const count = h.errors.length;
    await sleep(500);
    expect(h.errors.length).toBe(count);
    expect(h.errors[0]?.message).toMatch(/connection to mqtt:\/\/127\.0\.0\.1:\d+ failed: connect ECONNREFUSED/);
  });
});

// --- publishing ---------------------------------------------------------------
// consumer.publish(): QoS 1 answers on the consumer's own connection. A separate
// MQTT.js subscriber checks what the broker forwarded; a tapping proxy between
// consumer and broker records every packet both ways (the consumer's PUBLISHes
// with their packet ids and DUP flags, the broker's CONNACK and PUBACKs).

const sentPublishes = (log: Tapped[], conn?: number) =>
  log.filter((t): t is Tapped & { packet: IPublishPacket } => t.from === "client" && t.packet.cmd === "publish" && (conn === undefined || t.conn === conn)).map((t) => t.packet);
const connackOf = (log: Tapped[], conn: number) =>
  log.find((t): t is Tapped & { packet: IConnackPacket } => t.conn === conn && t.from === "broker" && t.packet.cmd === "connack")?.packet;
/** Most publishes of connection `conn` outstanding (sent, PUBACK not yet seen) at once, and packet ids reused while outstanding. */
function inFlightOnWire(log: Tapped[], conn: number): { max: number; reused: number[] } {
  const open = new Set<number>();
  const reused: number[] = [];
  let max = 0;
  for (const { conn: c, from, packet } of log) {
    if (c !== conn) continue;
    if (from === "client" && packet.cmd === "publish") {
      if (open.has(packet.messageId!)) reused.push(packet.messageId!);
      open.add(packet.messageId!);
      max = Math.max(max, open.size);
    } else if (from === "broker" && packet.cmd === "puback") open.delete(packet.messageId!);
  }
  return { max, reused };
}

type Received = { topic: string; payload: Buffer };
async function subscriber(broker: BrokerUnderTest, filter: string, url = broker.url()): Promise<{ client: MqttClient; received: Received[] }> {
  const client = await connectAsync(url, {
    ...AUTH, clientId: `sub-${uid()}`, protocolVersion: broker.protocolVersion, clean: true, reconnectPeriod: 0, connectTimeout: 5000,
  });
  cleanups.push(() => client.endAsync(true).catch(() => undefined));
  const received: Received[] = [];
  client.on("message", (topic, payload) => received.push({ topic, payload }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, received };
}

// A payload as "bytes:sha1-prefix", so that a mismatch (or a 2 MiB payload) diffs readably.
const fingerprint = (payload: string | Buffer) => {
  const buf = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  return `${buf.length}:${createHash("sha1").update(buf).digest("hex").slice(0, 12)}`;
};
/** topic → its payloads' fingerprints in order: equal maps = all delivered, once each, in order per topic, intact. */
function perTopic(messages: ReadonlyArray<{ topic: string; payload: string | Buffer }>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { topic, payload } of messages) (out[topic] ??= []).push(fingerprint(payload));
  return out;
}
/** Exactly `byteLength` UTF-8 bytes, mostly 3-byte characters. */
const utf8String = (byteLength: number) => "€".repeat(Math.floor(byteLength / 3)) + "a".repeat(byteLength % 3);

/**
 * `n` answers to 1,000 topics (`n / 1000` per topic, interleaved), string and Buffer payloads
 * alternating; a few replaced by edge cases: multi-byte UTF-8 topic and payloads, empty payloads,
 * binary bytes, and payloads that put the PUBLISH's remaining length exactly on each side of the
 * varint boundaries (1|2, 2|3 and 3|4 bytes), as string and as Buffer.
 */
function answers(run: string, n: number, protocolVersion: 4 | 5): OutboundMessage[] {
  const out: OutboundMessage[] = range(0, n).map((i) => {
    const topic = `out/${run}/d${i % 1000}`;
    const body = `{"seq":${i},"topic":"${topic}"}`;
    return { topic, payload: i % 2 === 0 ? body : Buffer.from(body) };
  });
  const utf8Topic = `out/${run}/gerät/温度/🚚`;
  const sizedTopic = `out/${run}/sized`;
  // Remaining length = topic length (2) + topic + packet id (2) + properties length (MQTT 5: 1) + payload.
  const overhead = 2 + Buffer.byteLength(sizedTopic) + 2 + (protocolVersion === 5 ? 1 : 0);
  const sized = [127, 128, 16_383, 16_384, 20_000, 2_097_151, 2_097_152].map((remaining, k) =>
    k % 2 === 0 ? utf8String(remaining - overhead) : randomBytes(remaining - overhead),
  );
  const specials: OutboundMessage[] = [
    { topic: utf8Topic, payload: "Grüße aus 東京 🚚 — naïve café" },
    { topic: utf8Topic, payload: Buffer.from("Ω≈ç√∫ 😀 ∑", "utf8") },
    { topic: utf8Topic, payload: Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x00, 0xc3]) }, // not UTF-8
    { topic: sizedTopic, payload: "" },
    { topic: sizedTopic, payload: Buffer.alloc(0) },
    ...sized.map((payload) => ({ topic: sizedTopic, payload })),
  ];
  const every = Math.floor(n / (specials.length + 1));
  specials.forEach((m, k) => (out[(k + 1) * every] = m));
  return out;
}

const publishingBrokers: BrokerUnderTest[] = [
  ...brokers,
  { ...brokers[0]!, name: "Mosquitto 2.0 (MQTT 3.1.1)", protocolVersion: 4 },
];

describe.each(publishingBrokers)("acking consumer publishing on $name", (broker) => {
  const tap = async () => {
    const proxy = await startTapProxy(broker.port(), broker.protocolVersion);
    cleanups.push(() => proxy.close());
    return proxy;
  };

  it("delivers 5,000 publishes from one call to a separate subscriber: each once, in order per topic, intact", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const proxy = await tap();
    const h = consume(broker, { clientId: `p1-${run}`, filters: [`in/${run}`], url: proxy.url });
    await h.subscribed();
    const messages = answers(run, 5000, broker.protocolVersion);
    expect(Math.max(...messages.map((m) => Buffer.byteLength(m.payload)))).toBeGreaterThan(2_097_100); // a 4-byte remaining length too

    h.consumer.publish(messages);
    await until(() => sub.received.length >= 5000, 8000, "5,000 messages at the subscriber");
    await until(() => h.consumer.stats().publishAcked === 5000, 5000, "5,000 PUBACKs");
    await sleep(200); // room for a duplicate to show up
    expect(sub.received.length).toBe(5000);
    expect(perTopic(sub.received)).toEqual(perTopic(messages));
    expect(h.consumer.stats()).toMatchObject({ published: 5000, publishAcked: 5000, publishFailed: 0, publishPending: 0, connects: 1 });
    expect(h.errors).toEqual([]);

    // On the wire: 5,000 QoS 1 PUBLISHes, in call order, first sends (no DUP), never more in
    // flight than the broker's Receive Maximum (Mosquitto: max_inflight_messages, 20) and
    // never packet id 1 or 2 (the SUBSCRIBE's and UNSUBSCRIBE's) or one still in flight.
    const wire = sentPublishes(proxy.log);
    expect(wire.length).toBe(5000);
    expect(wire.map((p) => `${p.topic} ${fingerprint(p.payload)}`)).toEqual(messages.map((m) => `${m.topic} ${fingerprint(m.payload)}`));
    expect(wire.every((p) => p.qos === 1 && !p.dup && !p.retain && p.messageId! > 2)).toBe(true);
    const window = connackOf(proxy.log, 1)?.properties?.receiveMaximum ?? 65_535;
    if (broker.protocolVersion === 5) expect(window).toBe(20);
    const { max, reused } = inFlightOnWire(proxy.log, 1);
    expect(reused).toEqual([]);
    // With a window, it is used in full; without one (MQTT 3.1.1) PUBACKs already flow back while the proxy still forwards.
    if (window < 5000) expect(max).toBe(window);
    else expect(max).toBeGreaterThan(20);
  });

  it("publishes made before the first CONNACK go out once connected", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const proxy = await tap();
    const h = consume(broker, { clientId: `p2-${run}`, filters: [`in/${run}`], url: proxy.url });
    const messages = answers(run, 300, broker.protocolVersion).filter((m) => Buffer.byteLength(m.payload) < 100_000);
    h.consumer.publish(messages.slice(0, 100));
    h.consumer.publish(messages.slice(100));
    expect(h.consumer.connected).toBe(false);
    expect(h.consumer.stats()).toMatchObject({ published: 0, publishPending: messages.length });

    await until(() => h.consumer.stats().publishAcked === messages.length, 5000, "all acknowledged");
    await until(() => sub.received.length >= messages.length);
    await sleep(100);
    expect(perTopic(sub.received)).toEqual(perTopic(messages));
    expect(sub.received.length).toBe(messages.length);
    expect(h.consumer.stats()).toMatchObject({ published: messages.length, publishPending: 0, publishFailed: 0, connects: 1 });
    // Nothing was written before the CONNACK.
    const connackAt = proxy.log.findIndex((t) => t.from === "broker" && t.packet.cmd === "connack");
    const firstPublishAt = proxy.log.findIndex((t) => t.from === "client" && t.packet.cmd === "publish");
    expect(connackAt).toBeGreaterThanOrEqual(0);
    expect(firstPublishAt).toBeGreaterThan(connackAt);
    expect(h.errors).toEqual([]);
  });

  it("publishes made while the broker is unreachable are all delivered after the reconnect", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const proxy = await tap();
    const h = consume(broker, { clientId: `p3-${run}`, filters: [`in/${run}`], url: proxy.url });
    await h.subscribed(1);
    const messages = answers(run, 600, broker.protocolVersion).filter((m) => Buffer.byteLength(m.payload) < 100_000);
    const before = messages.slice(0, 100);
    h.consumer.publish(before);
    await until(() => h.consumer.stats().publishAcked === 100, 5000, "first 100 acknowledged");

    proxy.refuse(true);
    proxy.cut();
    await until(() => !h.consumer.connected, 5000, "disconnected");
    const during = messages.slice(100);
    for (let i = 0; i < during.length; i += 125) h.consumer.publish(during.slice(i, i + 125)); // several calls
    await sleep(300); // reconnect attempts are refused meanwhile
    expect(h.consumer.connected).toBe(false);
    expect(h.consumer.stats()).toMatchObject({ published: 100, publishAcked: 100, publishPending: during.length });
    proxy.refuse(false);

    await until(() => h.consumer.stats().publishAcked === messages.length, 8000, "all acknowledged after the reconnect");
    await until(() => sub.received.length >= messages.length);
    await sleep(100);
    expect(sub.received.length).toBe(messages.length);
    expect(perTopic(sub.received)).toEqual(perTopic(messages));
    expect(h.consumer.stats()).toMatchObject({ published: messages.length, publishPending: 0, publishFailed: 0 });
    // Nothing was in flight at the drop: no resends, no DUPs, on the connection that came back.
    const lastConn = proxy.log.at(-1)!.conn;
    expect(lastConn).toBeGreaterThan(1);
    expect(connackOf(proxy.log, lastConn)?.sessionPresent).toBe(true);
    expect(sentPublishes(proxy.log, lastConn).map((p) => p.dup)).toEqual(during.map(() => false));
    expect(h.errors.length).toBeGreaterThan(0);
    expect(h.errors.every((e) => /was closed by the broker/.test(e.message))).toBe(true);
  });

  it("resends publishes whose PUBACK was lost on the next connection, with DUP (session present), in order", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const proxy = await tap();
    const h = consume(broker, { clientId: `p4-${run}`, filters: [`in/${run}`], url: proxy.url });
    await h.subscribed(1);
    const window = connackOf(proxy.log, 1)?.properties?.receiveMaximum ?? 65_535;
    proxy.freeze(); // the broker gets our publishes, we never see its PUBACKs
    const messages = range(0, 50).map((n) => ({ topic: `out/${run}/${n % 3}`, payload: n % 2 ? `m${n}` : Buffer.from(`m${n}`) }));
    const sentFirst = Math.min(window, messages.length); // Mosquitto (MQTT 5): 20, the rest wait for PUBACKs
    h.consumer.publish(messages);
    await until(() => sub.received.length === sentFirst, 5000, "the first sends forwarded");
    await sleep(100);
    expect(sub.received.length).toBe(sentFirst);
    expect(h.consumer.stats()).toMatchObject({ published: sentFirst, publishAcked: 0, publishPending: 50 });

    proxy.cut();
    await until(() => h.consumer.stats().publishAcked === 50, 5000, "all acknowledged on the next connection");
    await until(() => sub.received.length >= sentFirst + 50);
    await sleep(100);
    // At least once: those in flight at the drop arrive again, then the rest, in order per topic.
    expect(perTopic(sub.received)).toEqual(perTopic([...messages.slice(0, sentFirst), ...messages]));
    expect(h.consumer.stats()).toMatchObject({ published: sentFirst + 50, publishAcked: 50, publishPending: 0, connects: 2 });
    expect(connackOf(proxy.log, 2)?.sessionPresent).toBe(true);
    const second = sentPublishes(proxy.log, 2);
    expect(second.map((p) => `${p.topic} ${p.payload.toString()}`)).toEqual(messages.map((m) => `${m.topic} ${m.payload.toString()}`));
    expect(second.map((p) => p.dup)).toEqual(messages.map((_, i) => i < sentFirst)); // DUP only on what was sent before
    expect(sentPublishes(proxy.log, 1).every((p) => !p.dup)).toBe(true);
  });

  it("a graceful stop right after a large publish call still delivers every message", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const proxy = await tap();
    const h = consume(broker, { clientId: `p5-${run}`, filters: [`in/${run}`], url: proxy.url });
    await h.subscribed();
    const messages = answers(run, 5000, broker.protocolVersion);
    h.consumer.publish(messages);
    const started = Date.now();
    await h.consumer.stop({ graceful: true });
    const stoppedIn = Date.now() - started;

    expect(h.consumer.stats()).toMatchObject({ published: 5000, publishAcked: 5000, publishPending: 0, publishFailed: 0 });
    expect(stoppedIn).toBeLessThan(2000); // drained, not the 2 s limit
    await until(() => sub.received.length >= 5000, 10_000, "5,000 messages at the subscriber");
    await sleep(200);
    expect(sub.received.length).toBe(5000);
    expect(perTopic(sub.received)).toEqual(perTopic(messages));
    // DISCONNECT after the last PUBACK, then nothing.
    const last = proxy.log.filter((t) => t.conn === 1);
    expect(last.at(-1)).toMatchObject({ from: "client", packet: { cmd: "disconnect" } });
    expect(last.at(-2)).toMatchObject({ from: "broker", packet: { cmd: "puback" } });
    expect(proxy.log.every((t) => t.conn === 1)).toBe(true);
    expect(h.errors).toEqual([]);
  });
});

describe("acking consumer publishing across a broker restart", () => {
  it("resends without DUP when the session is gone (Mosquitto restarted, no persistence)", async () => {
    const run = uid();
    const first = await startMosquitto("pub-restart");
    cleanups.push(() => first.stop());
    const target: BrokerUnderTest = { ...brokers[0]!, url: () => first.url, port: () => first.port };
    const proxy = await startTapProxy(first.port, 5);
    cleanups.push(() => proxy.close());
    const h = consume(target, { clientId: `p6-${run}`, filters: [`in/${run}`], url: proxy.url });
    await h.subscribed(1);
    const sub1 = await subscriber(target, `out/${run}/#`);
    proxy.freeze();
    const messages = range(0, 10).map((n) => ({ topic: `out/${run}/${n % 2}`, payload: `r${n}` }));
    h.consumer.publish(messages);
    await until(() => sub1.received.length === 10, 5000, "the first sends forwarded");

    proxy.refuse(true);
    proxy.cut();
    await first.stop();
    const again = await startMosquitto("pub-restart", first.port);
    cleanups.push(() => again.stop());
    const sub2 = await subscriber(target, `out/${run}/#`, again.url);
    proxy.refuse(false);
    await until(() => h.consumer.stats().publishAcked === 10, 8000, "resends acknowledged by the new broker");
    await until(() => sub2.received.length >= 10);
    await sleep(100);
    expect(perTopic(sub2.received)).toEqual(perTopic(messages));
    const lastConn = proxy.log.at(-1)!.conn;
    expect(connackOf(proxy.log, lastConn)?.sessionPresent).toBe(false);
    const resent = sentPublishes(proxy.log, lastConn);
    expect(resent.map((p) => p.payload.toString())).toEqual(messages.map((m) => m.payload));
    expect(resent.every((p) => !p.dup)).toBe(true); // a new session never saw them
    expect(h.consumer.stats()).toMatchObject({ published: 20, publishAcked: 10, publishPending: 0 });
  });
});

// Publishing while the inbound side is saturated, and publishes the broker would refuse.
describe.each(publishingBrokers)("acking consumer publishing under pressure, on $name", (broker) => {
  // Messages over the inbound window are held and stay unacknowledged at stop; the
  // broker's PUBACKs for our publishes must still be read (Mosquitto's window for our
  // publishes is 20 here), or the rest would never be sent. The worker's shutdown
  // (ingest-service: accepting = false, drain, stop) leaves exactly such messages.
  it("a graceful stop while the inbound window is full still delivers every publish, without waiting 2 s", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const h = consume(broker, { clientId: `d1-${run}`, filters: [`in/${run}`], receiveMaximum: 5 });
    await h.subscribed();
    const pub = await publisher(broker.url());
    await publishRange(pub, () => `in/${run}`, 0, 40);
    await until(() => h.messages.length === 5);
    h.messages[0]!.ack(); // Mosquitto (MQTT 5) then sends more than the one freed slot: they are held
    await sleep(200);
    expect(h.messages.length).toBe(6);
    const messages = range(0, 100).map((n) => ({ topic: `out/${run}/${n % 4}`, payload: `a${n}` }));
    h.consumer.publish(messages);
    const started = Date.now();
    await h.consumer.stop({ graceful: true });
    const stoppedIn = Date.now() - started;
    await sleep(300);
    expect({ delivered: sub.received.length, pending: h.consumer.stats().publishPending }).toEqual({ delivered: 100, pending: 0 });
    expect(stoppedIn).toBeLessThan(1500);
  });

  // While running: held inbound messages must not stop the PUBACKs of our publishes
  // from being read (reading pauses only past a much larger hold limit).
  it("publishing is not held up by unacknowledged inbound messages", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const h = consume(broker, { clientId: `d2-${run}`, filters: [`in/${run}`], receiveMaximum: 5 });
    await h.subscribed();
    const pub = await publisher(broker.url());
    await publishRange(pub, () => `in/${run}`, 0, 40);
    await until(() => h.messages.length === 5);
    h.messages[0]!.ack();
    await sleep(200);
    h.consumer.publish(range(0, 100).map((n) => ({ topic: `out/${run}/${n % 4}`, payload: `b${n}` })));
    await until(() => h.consumer.stats().publishAcked === 100 && sub.received.length === 100, 2000).catch(() => undefined);
    expect({ delivered: sub.received.length, acked: h.consumer.stats().publishAcked }).toEqual({ delivered: 100, acked: 100 });
  });

  // A topic the broker rejects (here a wildcard) would make it drop the connection, and
  // as the first message resent on every reconnect, block everything behind it forever:
  // publish() refuses it up front.
  it("a publish the broker rejects as malformed does not block the ones behind it", async () => {
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const h = consume(broker, { clientId: `d3-${run}`, filters: [`in/${run}`] });
    await h.subscribed();
    h.consumer.publish([{ topic: `out/${run}/a`, payload: "1" }, { topic: `out/${run}/+/bad`, payload: "2" }, { topic: `out/${run}/b`, payload: "3" }]);
    await until(() => sub.received.some((m) => m.topic === `out/${run}/b`), 2000).catch(() => undefined);
    expect({ topics: [...new Set(sub.received.map((m) => m.topic))].sort(), connects: h.consumer.stats().connects }).toEqual({
      topics: [`out/${run}/a`, `out/${run}/b`],
      connects: 1,
    });
  });
});

describe("acking consumer publishing, over-long topics", () => {
  // A topic over 65,535 bytes cannot be encoded: refused up front, the valid messages of
  // the same call still go out.
  it("an over-long topic does not strand the valid messages of the same call", async () => {
    const broker = brokers[1]!;
    const run = uid();
    const sub = await subscriber(broker, `out/${run}/#`);
    const h = consume(broker, { clientId: `d4-${run}`, filters: [`in/${run}`] });
    await h.subscribed();
    try {
      h.consumer.publish([{ topic: `out/${run}/ok`, payload: "1" }, { topic: `out/${run}/${"x".repeat(70_000)}`, payload: "2" }]);
    } catch {
      // rejecting the call is fine, as long as nothing of it is left half-sent
    }
    await sleep(300);
    expect(sub.received.every((m) => m.topic === `out/${run}/ok`)).toBe(true);
    expect(h.consumer.stats().publishPending).toBe(0);
  });
});

describe("acking consumer publishing, packets over the broker's maximum", () => {
  // The shipped Mosquitto config takes packets up to 262,144 bytes (max_packet_size) and
  // says so in its CONNACK: a bigger answer would make it drop the connection, and as the
  // first message resent on every reconnect, stop every answer behind it for good.
  it("refuses an answer over the broker's Maximum Packet Size and sends the rest on the same connection", async () => {
    const { startTestMosquitto } = await import("./test-broker.ts");
    const shipped = await startTestMosquitto();
    const errors: string[] = [];
    const consumer = startAckingConsumer({
      url: shipped.platformUrl,
      clientId: `max-${uid()}`,
      username: shipped.platformUsername,
      password: shipped.platformPassword,
      filters: [`in/${uid()}`],
      onMessage: () => {},
      onError: (err) => void errors.push(err.message),
    });
    const watcher = await connectAsync(shipped.platformUrl, { username: shipped.platformUsername, password: shipped.platformPassword, protocolVersion: 5 });
    try {
      const run = uid();
      const received: string[] = [];
      watcher.on("message", (topic) => received.push(topic));
      await watcher.subscribeAsync(`fleet/${run}/#`, { qos: 1 });
      await until(() => consumer.connected, 5000, "connected");
      consumer.publish([
        { topic: `fleet/${run}/a`, payload: "1" },
        { topic: `fleet/${run}/huge`, payload: Buffer.alloc(300 * 1024, 0x61) },
        { topic: `fleet/${run}/b`, payload: "3" },
      ]);
      await until(() => received.length === 2, 5000, "two answers");
      await sleep(200);
      expect(received.sort()).toEqual([`fleet/${run}/a`, `fleet/${run}/b`]);
      expect(consumer.stats()).toMatchObject({ connects: 1, publishAcked: 2, publishFailed: 1, publishPending: 0 });
      expect(errors.some((e) => /takes packets up to 262144 bytes/.test(e))).toBe(true);
    } finally {
      await watcher.endAsync();
      await consumer.stop({ graceful: false });
      await shipped.stop();
    }
  });
});
