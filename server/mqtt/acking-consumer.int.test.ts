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
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { generate } from "mqtt-packet";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAckingConsumer, type AckingConsumer, type AckingConsumerOptions, type InboundMessage } from "./acking-consumer.ts";
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

// A TCP proxy the tests can cut (both sides closed) or freeze (silently drops what
// the broker sends, like a dead path: the broker still hears the client's PINGREQs
// and keeps the connection, so only the client's keepalive can notice).
type Proxy = { url: string; cut(): void; freeze(): void; close(): Promise<void> };
async function startProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<{ a: net.Socket; b: net.Socket; frozen: boolean }>();
  const server = net.createServer((a) => {
    const b = net.connect(targetPort, "127.0.0.1");
    const pair = { a, b, frozen: false };
    pairs.add(pair);
    a.on("data", (d) => b.write(d));
    b.on("data", (d) => pair.frozen || a.write(d));
    const end = () => {
      a.destroy();
      b.destroy();
      pairs.delete(pair);
    };
    a.on("close", end).on("error", end);
    b.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const cut = () => pairs.forEach((p) => (p.a.destroy(), p.b.destroy()));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    cut,
    freeze: () => pairs.forEach((p) => (p.frozen = true)),
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
    const proxy = await startProxy(broker.port());
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
    const proxy = await startProxy(broker.port());
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
