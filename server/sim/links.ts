// How simulated devices reach the broker: one MQTT connection per device (as
// real devices do: client id = username = device id, a retained will), or a
// few gateway connections with the platform's credentials that carry many
// devices (load tests: thousands of sockets cost more than the test is about).
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { deviceTopic, RESPONSE_TOPICS, type DeviceTopic, type ResponseTopic } from "@/server/mqtt/topics.ts";
import { fullJitterBackoff } from "@/server/mqtt/backoff.ts";

export type LinkEvents = {
  up(id: string): void;
  down(id: string): void;
  message(id: string, suffix: ResponseTopic, payload: Buffer): void;
  error(err: Error): void;
};

export interface Transport {
  /** Starts connecting the device; `up` or `down` follows. */
  open(id: string): void;
  /** Abrupt loss of the device's link, no DISCONNECT: the broker publishes the will. No `down` follows: the caller planned it. */
  drop(id: string): void;
  /** Every connection at once (--mass-reconnect-at); `down` as for drop. */
  dropAll(): void;
  publish(id: string, suffix: DeviceTopic, payload: string, retain: boolean): void;
  /** Graceful end: each connected device publishes `{ "online": false }`, then disconnects. */
  close(): Promise<void>;
}

/** Reconnect delays (full jitter): base and cap, ms. */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_CAP_MS = 30_000;
const OFFLINE = JSON.stringify({ online: false });
const RESPONSES = new Set<string>(RESPONSE_TOPICS);
const BASE_OPTIONS: IClientOptions = {
  protocolVersion: 4, // MQTT 3.1.1: both Mosquitto and the embedded aedes speak it
  clean: true,
  reconnectPeriod: 0, // the fleet reconnects with full-jitter backoff instead
  keepalive: 60,
  connectTimeout: 10_000,
  resubscribe: false,
};

/** `fleet/{id}/{response suffix}` → its parts, or null for anything else. */
export function parseResponseTopic(topic: string, prefix: string): { id: string; suffix: ResponseTopic } | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const rest = topic.slice(prefix.length + 1);
  const slash = rest.indexOf("/");
  const suffix = rest.slice(slash + 1);
  return slash > 0 && RESPONSES.has(suffix) ? { id: rest.slice(0, slash), suffix: suffix as ResponseTopic } : null;
}

const responseFilters = (id: string, prefix: string) => RESPONSE_TOPICS.map((s) => deviceTopic(id, s, prefix));

/** Reports a refused subscription (a SUBACK with 0x80); one cut short by a closing connection is redone on reconnect. */
function subscribe(client: MqttClient, filters: string[], events: LinkEvents): void {
  client.subscribe(filters, { qos: 1 }, (err) => {
    if (err && "packet" in err && err.packet) events.error(new Error(`subscription refused: ${filters[0]}…`));
  });
}

/**
 * Closes the socket without DISCONNECT, so the broker publishes the will, and
 * (unlike destroying the stream) forgets unacknowledged publishes. Only for an
 * open socket: MQTT.js never finishes end() on a closed one and would then
 * defer every later reconnect() forever. Returns whether a `close` will follow.
 */
function cut(client: MqttClient): boolean {
  if (!client.stream || client.stream.destroyed) return false;
  client.end(true);
  return true;
}

async function endGracefully(client: MqttClient, offline: string[], prefix: string): Promise<void> {
  if (!client.connected) return void cut(client); // offline or still connecting: nothing to say
  await Promise.all(offline.map((id) => client.publishAsync(deviceTopic(id, "status", prefix), OFFLINE, { qos: 1, retain: true }).catch(() => undefined)));
  await Promise.race([client.endAsync(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
}

export function directTransport(o: { url: string; password?: string; prefix: string }, events: LinkEvents): Transport {
  const clients = new Map<string, MqttClient>();
  // Connections cut on purpose: their close is expected and must not be taken
  // for the failure of the next attempt (under load it can arrive after the
  // fleet has already reopened the client).
  const cutting = new Set<string>();
  const drop = (id: string) => {
    const client = clients.get(id);
    if (client && cut(client)) cutting.add(id);
  };
  const route = (topic: string, payload: Buffer) => {
    const parsed = parseResponseTopic(topic, o.prefix);
    if (parsed) events.message(parsed.id, parsed.suffix, payload);
  };
  const create = (id: string) => {
    const client = mqtt.connect(o.url, {
      ...BASE_OPTIONS,
      clientId: id,
      username: id,
      ...(o.password !== undefined ? { password: o.password } : {}),
      will: { topic: deviceTopic(id, "status", o.prefix), payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    });
    client.on("connect", () => {
      // Sent before anything the device publishes, so every answer finds the subscription.
      subscribe(client, responseFilters(id, o.prefix), events);
      events.up(id);
    });
    client.on("message", route);
    client.on("close", () => {
      if (!cutting.delete(id)) events.down(id);
    });
    client.on("error", (err) => events.error(err));
    return client;
  };
  return {
    open(id) {
      const client = clients.get(id);
      if (client) client.reconnect();
      else clients.set(id, create(id));
    },
    drop,
    dropAll() {
      for (const id of clients.keys()) drop(id);
    },
    publish(id, suffix, payload, retain) {
      clients.get(id)?.publish(deviceTopic(id, suffix, o.prefix), payload, { qos: 1, retain });
    },
    async close() {
      await Promise.all([...clients].map(([id, client]) => endGracefully(client, [id], o.prefix)));
    },
  };
}

type Gateway = { client: MqttClient; ids: string[]; up: boolean; attempt: number; timer: NodeJS.Timeout | null };

/**
 * K connections with the platform's credentials, devices spread round-robin.
 * A device is "up" while its gateway is; a dropped device publishes its own
 * offline status (one connection cannot carry a will per device).
 */
export function gatewayTransport(
  o: { url: string; count: number; username: string; password?: string; prefix: string; ids: string[] },
  events: LinkEvents,
): Transport {
  const wanted = new Set<string>(); // devices the fleet has opened
  const upIds = new Set<string>();
  const gatewayOf = new Map<string, Gateway>();
  let closing = false;
  const bringUp = (id: string) => {
    upIds.add(id);
    events.up(id);
  };
  const gateways: Gateway[] = Array.from({ length: Math.max(1, o.count) }, (_, i) => {
    const ids = o.ids.filter((_, j) => j % o.count === i);
    const client = mqtt.connect(o.url, {
      ...BASE_OPTIONS,
      clientId: `fleetwave-sim-gw${i}-${process.pid}`,
      username: o.username,
      ...(o.password !== undefined ? { password: o.password } : {}),
    });
    const gw: Gateway = { client, ids, up: false, attempt: 0, timer: null };
    for (const id of ids) gatewayOf.set(id, gw);
    client.on("connect", () => {
      gw.up = true;
      gw.attempt = 0;
      const filters = ids.flatMap((id) => responseFilters(id, o.prefix));
      for (let k = 0; k < filters.length; k += 500) subscribe(client, filters.slice(k, k + 500), events);
      for (const id of ids) if (wanted.has(id) && !upIds.has(id)) bringUp(id);
    });
    client.on("message", (topic, payload) => {
      const parsed = parseResponseTopic(topic, o.prefix);
      if (parsed && upIds.has(parsed.id)) events.message(parsed.id, parsed.suffix, payload);
    });
    client.on("close", () => {
      gw.up = false;
      for (const id of ids) if (upIds.delete(id)) events.down(id);
      if (closing || gw.timer) return;
      gw.timer = setTimeout(() => {
        gw.timer = null;
        client.reconnect();
      }, fullJitterBackoff(gw.attempt++, RECONNECT_BASE_MS, RECONNECT_CAP_MS));
    });
    client.on("error", (err) => events.error(err));
    return gw;
  });
  return {
    open(id) {
      wanted.add(id);
      if (gatewayOf.get(id)?.up && !upIds.has(id)) queueMicrotask(() => bringUp(id));
    },
    drop(id) {
      const gw = gatewayOf.get(id);
      wanted.delete(id);
      if (!gw || !upIds.delete(id)) return;
      gw.client.publish(deviceTopic(id, "status", o.prefix), OFFLINE, { qos: 1, retain: true });
    },
    dropAll() {
      upIds.clear(); // planned: no `down`; each gateway reconnects and brings its devices back up
      for (const gw of gateways) {
        gw.up = false; // its close comes later: no device may come up on it meanwhile
        cut(gw.client);
      }
    },
    publish(id, suffix, payload, retain) {
      const gw = gatewayOf.get(id);
      if (gw?.up) gw.client.publish(deviceTopic(id, suffix, o.prefix), payload, { qos: 1, retain });
    },
    async close() {
      closing = true;
      for (const gw of gateways) if (gw.timer) clearTimeout(gw.timer);
      await Promise.all(gateways.map((gw) => endGracefully(gw.client, gw.ids.filter((id) => upIds.has(id)), o.prefix)));
    },
  };
}
