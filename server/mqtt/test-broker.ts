// Test helpers around a private Mosquitto run from the shipped config
// (server/mqtt/mosquitto): its ACL, its listeners (devices and platform) and
// its queue limits, with a generated password file, on free ports in a temp
// dir. Plus a small MQTT device client for tests that act as devices
// (client id = username = device id, on the device listener).
//
//   const broker = await startTestMosquitto({ devices: ["dev-1"] });
//   const device = await connectTestDevice(broker, "dev-1");
//   afterAll(() => broker.stop());
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { freePort, listening } from "@/server/ports.ts";

export { freePort, listening };

const SHIPPED = path.join(path.dirname(fileURLToPath(import.meta.url)), "mosquitto");
const MOSQUITTO = fs.existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
const PLATFORM_USERNAME = "fleetwave-platform";

export type TestMosquitto = {
  /** Device listener (use_username_as_clientid, device ACL). */
  deviceUrl: string;
  /** Platform listener: MQTT_URL for the worker. */
  platformUrl: string;
  platformUsername: string;
  platformPassword: string;
  /** The password of a device given to startTestMosquitto; throws for any other id. */
  devicePassword(id: string): string;
  /** Broker log so far (Mosquitto buffers it when stdout is a pipe). */
  output(): string;
  /** SIGTERM, wait for exit, remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
};



const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function replaceLine(config: string, pattern: RegExp, line: string): string {
  if (!pattern.test(config)) throw new Error(`mosquitto.conf no longer has a line matching ${pattern}`);
  return config.replace(pattern, line);
}

/** The shipped mosquitto.conf with this run's ports and paths. */
export function testMosquittoConfig(dir: string, devicePort: number, platformPort: number): string {
  let config = fs.readFileSync(path.join(SHIPPED, "mosquitto.conf"), "utf8");
  config = replaceLine(config, /^listener 1883$/m, `listener ${devicePort} 127.0.0.1`);
  config = replaceLine(config, /^listener 1884 127\.0\.0\.1$/m, `listener ${platformPort} 127.0.0.1`);
  config = replaceLine(config, /^password_file .*$/m, `password_file ${path.join(dir, "passwd")}`);
  config = replaceLine(config, /^acl_file .*$/m, `acl_file ${path.join(dir, "acl")}`);
  config = replaceLine(config, /^persistence_location .*$/m, `persistence_location ${path.join(dir, "data")}/`);
  return config;
}

export async function startTestMosquitto(options: { devices?: string[] } = {}): Promise<TestMosquitto> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-test-mosquitto-"));
  const platformPassword = `platform-${randomBytes(8).toString("hex")}`;
  const passwords = new Map((options.devices ?? []).map((id) => [id, `pw-${id}-${randomBytes(4).toString("hex")}`]));
  let proc: ChildProcess | null = null;
  let output = "";
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc!.once("exit", resolve));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc!.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [devicePort, platformPort] = [await freePort(), await freePort()];
    // `id:password` lines hashed in place in one call (-U): one process for any number of devices.
    const passwd = path.join(dir, "passwd");
    const lines = [`${PLATFORM_USERNAME}:${platformPassword}`, ...[...passwords].map(([id, pw]) => `${id}:${pw}`)];
    fs.writeFileSync(passwd, lines.join("\n") + "\n", { mode: 0o600 });
    execFileSync("mosquitto_passwd", ["-U", passwd]);
    fs.copyFileSync(path.join(SHIPPED, "acl"), path.join(dir, "acl"));
    fs.mkdirSync(path.join(dir, "data"));
    fs.writeFileSync(path.join(dir, "mosquitto.conf"), testMosquittoConfig(dir, devicePort, platformPort));
    // As root, Mosquitto drops to its own user before it reads these files.
    if (process.getuid?.() === 0) execFileSync("chown", ["-R", "mosquitto:", dir]);

    const child = spawn(MOSQUITTO, ["-c", path.join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    proc = child;
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // Mosquitto buffers its log when stdout is a pipe: wait for the ports instead.
    for (const deadline = Date.now() + 10_000; !(await listening(devicePort)) || !(await listening(platformPort)); await sleep(50)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start (${child.exitCode}):\n${output}`);
    }
    return {
      deviceUrl: `mqtt://127.0.0.1:${devicePort}`,
      platformUrl: `mqtt://127.0.0.1:${platformPort}`,
      platformUsername: PLATFORM_USERNAME,
      platformPassword,
      devicePassword(id) {
        const pw = passwords.get(id);
        if (pw === undefined) throw new Error(`test broker: no credentials for device ${id}`);
        return pw;
      },
      output: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// --- a device, as tests act it ---------------------------------------------

export type DeviceMessage = { topic: string; suffix: string; body: any; raw: Buffer; at: number };

export type TestDevice = {
  readonly id: string;
  readonly client: MqttClient;
  /** Everything received on the device's subscriptions, in arrival order. */
  readonly messages: DeviceMessage[];
  /** Messages this connection published (for "every message is an event" checks). */
  published: number;
  /** QoS 1 publish on `fleet/{id}/{suffix}` (or a full topic starting with "fleet/"); resolves on PUBACK. */
  publish(suffix: string, body: unknown, opts?: { retain?: boolean }): Promise<void>;
  /** The first message from index `from` on that matches, or null after timeoutMs. */
  waitFor(match: (m: DeviceMessage) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<DeviceMessage | null>;
  /** As waitFor, but throws (with what did arrive) on timeout. */
  expectMessage(match: (m: DeviceMessage) => boolean, opts?: { from?: number; timeoutMs?: number; what?: string }): Promise<DeviceMessage>;
  end(force?: boolean): Promise<void>;
};

/** The topics a device listens on for the platform's answers. */
export const DEVICE_RESPONSE_FILTERS = ["shadow/update/+", "shadow/get/+", "shadow/delta", "sync"];

export async function connectTestDevice(
  broker: Pick<TestMosquitto, "deviceUrl" | "devicePassword">,
  id: string,
  options: IClientOptions & { subscribe?: string[] | false; password?: string } = {},
): Promise<TestDevice> {
  const { subscribe = DEVICE_RESPONSE_FILTERS, ...mqttOptions } = options;
  const client = await connectAsync(broker.deviceUrl, {
    clientId: id,
    username: id,
    password: broker.devicePassword(id),
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...mqttOptions,
  });
  const prefix = `fleet/${id}/`;
  const messages: DeviceMessage[] = [];
  const waiters = new Set<(m: DeviceMessage) => void>();
  client.on("message", (topic, raw) => {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      body = raw.toString("utf8");
    }
    const m: DeviceMessage = { topic, suffix: topic.startsWith(prefix) ? topic.slice(prefix.length) : topic, body, raw, at: Date.now() };
    messages.push(m);
    for (const w of [...waiters]) w(m);
  });
  if (subscribe && subscribe.length > 0) await client.subscribeAsync(subscribe.map((s) => prefix + s), { qos: 1 });

  const waitFor: TestDevice["waitFor"] = (match, { from = 0, timeoutMs = 20_000 } = {}) => {
    for (let i = from; i < messages.length; i++) if (match(messages[i]!)) return Promise.resolve(messages[i]!);
    return new Promise((resolve) => {
      const waiter = (m: DeviceMessage) => {
        if (!match(m)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        resolve(null);
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const device: TestDevice = {
    id,
    client,
    messages,
    published: 0,
    async publish(suffix, body, opts = {}) {
      const topic = suffix.startsWith("fleet/") ? suffix : prefix + suffix;
      const payload = Buffer.isBuffer(body) ? body : typeof body === "string" ? body : JSON.stringify(body);
      device.published++;
      await client.publishAsync(topic, payload, { qos: 1, retain: opts.retain ?? false });
    },
    waitFor,
    async expectMessage(match, opts = {}) {
      const found = await waitFor(match, opts);
      if (found) return found;
      const seen = messages.slice(opts.from ?? 0).map((m) => `${m.suffix} ${m.raw.toString().slice(0, 200)}`);
      throw new Error(`${id}: no ${opts.what ?? "matching message"} within ${opts.timeoutMs ?? 20_000} ms; received:\n${seen.join("\n") || "(nothing)"}`);
    },
    end: (force = false) => client.endAsync(force).catch(() => undefined),
  };
  return device;
}

// --- a TCP proxy the test controls ------------------------------------------

export type TcpProxy = {
  /** mqtt://127.0.0.1:PORT, forwarding to the target. */
  url: string;
  /**
   * From now on, what clients send is no longer forwarded (dropped), while what the broker sends
   * still reaches them: a client's PUBACKs and publications then never arrive, like those still in
   * a process's socket buffer when it is killed.
   */
  holdUpstream(): void;
  close(): Promise<void>;
};

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  let held = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.on("data", (chunk) => held || upstream.write(chunk));
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const socket of pair) socket.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    holdUpstream: () => void (held = true),
    close: () => {
      for (const pair of pairs) pair.forEach((s) => s.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
