// A QoS 1 subscriber that acknowledges only when told to (ARCHITECTURE.md, "MQTT.js
// and ack-after-commit"). MQTT.js hands over one message at a time while a PUBACK
// is held, so the ingest worker could never batch; here reading is decoupled from
// acknowledging: every PUBLISH goes to onMessage at once, up to `receiveMaximum`
// of them unacknowledged, and msg.ack() sends the PUBACK (after the owner's
// COMMIT). Built on mqtt-packet over a plain socket; tests in the .int.test.ts.
//
// The same connection also publishes (QoS 1) what its owner answers: a whole
// batch of answers is encoded into one buffer and written at once, in flight up
// to the broker's Receive Maximum, the rest queued in order; unacknowledged ones
// are sent again after a reconnect (DUP when the session survived). Both go
// out once per tick, the acknowledgements first, then the answers, one write each.
//
// Guarantees: an ack() only ever acknowledges its own delivery on the connection
// it arrived on; after a reconnect it is a no-op and the broker redelivers the
// message from the persistent session. So a crash at any point loses nothing
// unacknowledged, and the owner must treat redelivery as normal (the protocol's
// idempotency rules). Keep the owner's batch size ≤ receiveMaximum.
import net from "node:net";
import { generate, parser as createParser, type IConnackPacket, type IPublishPacket, type ISubackPacket, type Packet } from "mqtt-packet";
import { isValidTopicName } from "./acl.ts";
import { fullJitterBackoff } from "./backoff.ts";

export type InboundMessage = {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  /** Redelivery, maybe processed before (Mosquitto sets it; aedes 1.2 never does). */
  readonly dup: boolean;
  readonly receivedAt: number;
  /** Connection the message arrived on (onConnect's epoch). */
  readonly epoch: number;
  /** Queues the PUBACK. Idempotent; a no-op for QoS 0 and once that connection is gone. */
  ack(): void;
};

export type AckingConsumerOptions = {
  url: string; // mqtt://host:port
  /** Stable across restarts: the broker keeps this client id's unacknowledged messages for it. */
  clientId: string;
  username?: string;
  password?: string;
  /** Subscribed with QoS 1, e.g. "$share/ingest/fleet/+/shadow/update". */
  filters: string[];
  /** 5 (default), or 4 = MQTT 3.1.1 for brokers without MQTT 5 (aedes; Receive Maximum is then not sent). */
  protocolVersion?: 4 | 5;
  /** Most messages delivered and not yet acked: sent as MQTT 5 Receive Maximum and enforced here too (default 2000). */
  receiveMaximum?: number;
  /** MQTT 5 Session Expiry Interval; the session (clean start false) outlives a crash by this long (default 1 day). */
  sessionExpirySec?: number;
  keepaliveSec?: number; // default 30
  connectTimeoutMs?: number; // default 10 s
  onMessage(msg: InboundMessage): void;
  /** After each successful CONNACK, before any message of that connection. */
  onConnect?(info: { sessionPresent: boolean; epoch: number }): void;
  /** After each SUBACK (failed filters are also reported through onError). */
  onSubscribed?(info: { epoch: number; granted: Array<{ filter: string; reasonCode: number }> }): void;
  /** Everything that goes wrong; the consumer keeps reconnecting (backoff up to 10 s), except after
   *  reasonCode 0x8E (another connection took our client id over), where it stops for good. */
  onError?(err: Error & { reasonCode?: number }): void;
};

export type OutboundMessage = { readonly topic: string; readonly payload: string | Buffer };

export type AckingConsumerStats = {
  epoch: number; // connection attempts so far
  connected: boolean;
  connects: number; // accepted CONNACKs
  received: number; // delivered to onMessage
  duplicates: number; // of which dup = true
  acked: number; // PUBACKs written
  unacked: number; // delivered on the current connection, not yet acknowledged
  published: number; // PUBLISH packets written (resends included)
  publishAcked: number; // PUBACKs received for them
  publishFailed: number; // PUBACKs with an error reason, or dropped from a full queue
  publishPending: number; // in flight or queued now
};

export type AckingConsumer = {
  /** graceful (default): stop delivering, flush queued acks, DISCONNECT, close. Otherwise: drop the socket like a crash. */
  stop(opts?: { graceful?: boolean }): Promise<void>;
  readonly connected: boolean;
  stats(): AckingConsumerStats;
  /** Unsubscribes every filter (and won't resubscribe on reconnect); resolves on UNSUBACK or after 3 s. */
  unsubscribe(): Promise<void>;
  /** Publishes with QoS 1, in order, as one write; queued while disconnected or over the broker's window. */
  publish(messages: readonly OutboundMessage[]): void;
};

type Connection = {
  epoch: number;
  socket: net.Socket;
  ready: boolean; // CONNACK accepted
  readyAt: number;
  closed: boolean;
  closedPromise: Promise<void>;
  unacked: Set<number>; // delivered, not yet acked
  pendingAcks: number[]; // acked, to be written this tick
  held: IPublishPacket[]; // received over the window, not yet delivered
  lastInboundAt: number;
  pingSentAt: number | null;
  timer: NodeJS.Timeout | undefined; // CONNACK timeout, then keepalive
  sendWindow: number; // the broker's Receive Maximum for our publishes
  maxPacketSize: number; // the broker's Maximum Packet Size (MQTT 5), else the protocol's
  publishFlushQueued: boolean;
  heldBytes: number; // payload bytes of `held`
};

/** `id`: the packet id it was last sent with (a resend into a surviving session keeps it, MQTT-4.4.0-1). */
type Outgoing = { topic: string; payload: string | Buffer; dup: boolean; id?: number };

const REASONS: Record<number, string> = {
  0x01: "unacceptable protocol version (an MQTT 3.1.1 broker: use protocolVersion 4)",
  0x02: "identifier rejected", 0x03: "server unavailable", 0x04: "bad user name or password", 0x05: "not authorized",
  0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error", 0x83: "implementation specific error",
  0x84: "unsupported protocol version", 0x85: "client identifier not valid", 0x86: "bad user name or password",
  0x87: "not authorized", 0x88: "server unavailable", 0x89: "server busy", 0x8a: "banned", 0x8b: "server shutting down",
  0x8e: "session taken over", 0x8f: "topic filter invalid", 0x91: "packet identifier in use", 0x93: "receive maximum exceeded",
  0x95: "packet too large", 0x97: "quota exceeded", 0x9e: "shared subscriptions not supported", 0x9f: "connection rate exceeded",
  0xa1: "subscription identifiers not supported", 0xa2: "wildcard subscriptions not supported",
};
const reason = (code: number) => `0x${code.toString(16).padStart(2, "0")} ${REASONS[code] ?? "unknown reason"}`;
const mqttError = (message: string, reasonCode?: number) => Object.assign(new Error(message), reasonCode === undefined ? {} : { reasonCode });
const SESSION_TAKEN_OVER = 0x8e;

/** PUBACK, success: [0x40, 2, id_hi, id_lo] — what mqtt-packet generates for MQTT 3.1.1 and for 5 with reason 0. */
function encodePubacks(ids: number[]): Buffer {
  const buf = Buffer.allocUnsafe(ids.length * 4);
  ids.forEach((id, i) => buf.writeUInt32BE((0x4002 << 16) | id, i * 4));
  return buf;
}

// Packet ids 1 and 2 are the SUBSCRIBE's and UNSUBSCRIBE's; publishes take the rest.
const FIRST_PUBLISH_ID = 3;
const MAX_PACKET_ID = 65_535;
/** Answers kept while the broker is away; past this the oldest go (a device asks again). */
const MAX_QUEUED_PUBLISHES = 200_000;
/** The largest packet the remaining length can describe (MQTT: 268,435,455 bytes after the fixed header). */
const MAX_MQTT_PACKET = 268_435_460;
/** Held inbound payload bytes past which reading pauses, whatever their count. */
const HOLD_BYTES = 64 * 1024 * 1024;

function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

type PublishSize = { topicBytes: number; remaining: number; total: number };

/** The size of a QoS 1 PUBLISH without properties: its topic's bytes, its remaining length, the whole packet. */
function publishSize(msg: Outgoing, protocolVersion: 4 | 5): PublishSize {
  const topicBytes = Buffer.byteLength(msg.topic);
  const payloadBytes = typeof msg.payload === "string" ? Buffer.byteLength(msg.payload) : msg.payload.length;
  const remaining = 2 + topicBytes + 2 + (protocolVersion === 5 ? 1 : 0) + payloadBytes;
  return { topicBytes, remaining, total: 1 + varintLength(remaining) + remaining };
}

/** QoS 1 PUBLISH packets, back to back in one buffer (no properties). */
function encodePublishes(items: ReadonlyArray<{ msg: Outgoing; id: number; size: PublishSize }>, protocolVersion: 4 | 5): Buffer {
  const buf = Buffer.allocUnsafe(items.reduce((sum, { size }) => sum + size.total, 0));
  let at = 0;
  items.forEach(({ msg, id, size }) => {
    const { topicBytes, remaining } = size;
    buf[at++] = msg.dup ? 0x3a : 0x32;
    for (let n = remaining; ; ) {
      const byte = n % 128;
      n = Math.floor(n / 128);
      buf[at++] = n > 0 ? byte | 0x80 : byte;
      if (n === 0) break;
    }
    at = buf.writeUInt16BE(topicBytes, at);
    at += buf.write(msg.topic, at, "utf8");
    at = buf.writeUInt16BE(id, at);
    if (protocolVersion === 5) buf[at++] = 0;
    at += typeof msg.payload === "string" ? buf.write(msg.payload, at, "utf8") : msg.payload.copy(buf, at);
  });
  return buf;
}

export type PacketHandlers = {
  publish(packet: IPublishPacket): void;
  /** PUBACK of one of our publishes; reasonCode 0 when the packet has none. */
  puback(messageId: number, reasonCode: number): void;
  /** Any other packet, whole, for mqtt-packet's parser. */
  other(frame: Buffer): void;
};

/**
 * Splits a stream into MQTT packets. PUBLISH and PUBACK packets (nearly all the
 * traffic) are read here, a PUBLISH's payload a view into the received chunk;
 * every other packet goes whole to mqtt-packet's parser. Returns what is left
 * of `buf` (an incomplete packet) or throws on a malformed one.
 */
export function splitPackets(buf: Buffer, protocolVersion: 4 | 5, on: PacketHandlers): Buffer | null {
  let at = 0;
  while (buf.length - at >= 2) {
    let remaining = 0;
    let i = at + 1;
    for (let shift = 1; ; shift *= 128, i++) {
      if (i >= buf.length) return buf.subarray(at);
      if (i - at > 4) throw new Error("remaining length longer than 4 bytes");
      const byte = buf[i]!;
      remaining += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) break;
    }
    const start = i + 1;
    const end = start + remaining;
    if (end > buf.length) return buf.subarray(at);
    const first = buf[at]!;
    const type = first >> 4;
    if (type === 3) on.publish(readPublish(buf, first, start, end, protocolVersion));
    else if (type === 4) {
      if (remaining < 2) throw new Error("PUBACK without its packet identifier");
      on.puback(buf.readUInt16BE(start), remaining > 2 ? buf[start + 2]! : 0);
    } else on.other(buf.subarray(at, end));
    at = end;
  }
  return at === buf.length ? null : buf.subarray(at);
}

/**
 * Feeds a stream's chunks to splitPackets. An incomplete packet's chunks are
 * collected and joined once, when it is whole (joining at every chunk would cost
 * time quadratic in the packet's size). Throws on a malformed packet.
 */
export function packetFramer(protocolVersion: 4 | 5, on: PacketHandlers): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  let partsBytes = 0;
  let needed = 0;
  return (chunk) => {
    let buf = chunk;
    if (parts.length > 0) {
      parts.push(chunk);
      partsBytes += chunk.length;
      if (partsBytes < needed) return;
      buf = Buffer.concat(parts, partsBytes);
      parts = [];
    }
    const rest = splitPackets(buf, protocolVersion, on);
    if (rest) {
      parts = [rest];
      partsBytes = rest.length;
      needed = packetLength(rest) ?? rest.length + 1;
    }
  };
}

/** The whole length of the packet `buf` starts with, or null while its fixed header is incomplete. */
export function packetLength(buf: Buffer): number | null {
  let remaining = 0;
  for (let i = 1, shift = 1; i < buf.length && i <= 4; i++, shift *= 128) {
    const byte = buf[i]!;
    remaining += (byte & 0x7f) * shift;
    if ((byte & 0x80) === 0) return i + 1 + remaining;
  }
  return null;
}

function readPublish(buf: Buffer, first: number, start: number, end: number, protocolVersion: 4 | 5): IPublishPacket {
  const qos = (first >> 1) & 3;
  if (qos === 3) throw new Error("PUBLISH with QoS 3");
  let at = start;
  if (end - at < 2) throw new Error("PUBLISH shorter than its topic length");
  const topicLength = buf.readUInt16BE(at);
  at += 2;
  if (at + topicLength > end) throw new Error("PUBLISH topic runs past the packet");
  const topic = buf.toString("utf8", at, at + topicLength);
  at += topicLength;
  let messageId: number | undefined;
  if (qos > 0) {
    if (at + 2 > end) throw new Error("PUBLISH without its packet identifier");
    messageId = buf.readUInt16BE(at);
    at += 2;
  }
  if (protocolVersion === 5) {
    // Properties (none we asked for: no topic aliases, no subscription ids): skipped.
    let length = 0;
    for (let shift = 1; ; shift *= 128) {
      if (at >= end || shift > 128 ** 3) throw new Error("PUBLISH properties malformed");
      const byte = buf[at++]!;
      length += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) break;
    }
    at += length;
    if (at > end) throw new Error("PUBLISH properties run past the packet");
  }
  return { cmd: "publish", topic, payload: buf.subarray(at, end), qos: qos as 0 | 1 | 2, dup: (first & 0x08) !== 0, retain: (first & 0x01) !== 0, messageId };
}

export function startAckingConsumer(options: AckingConsumerOptions): AckingConsumer {
  const url = new URL(options.url);
  if (url.protocol !== "mqtt:" && url.protocol !== "tcp:") throw new Error(`acking consumer: unsupported URL ${options.url} (mqtt://host:port)`);
  // A persistent session needs a stable client id (a broker-assigned one would be new on every connect).
  if (options.clientId === "") throw new Error("acking consumer: clientId is required");
  if (options.filters.length === 0) throw new Error("acking consumer: at least one filter is required");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 1883);
  const protocolVersion = options.protocolVersion ?? 5;
  const keepaliveSec = options.keepaliveSec ?? 30;
  const receiveMaximum = Math.min(Math.max(1, options.receiveMaximum ?? 2000), 65_535);
  const holdLimit = Math.max(4 * receiveMaximum, 10_000);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const report = (err: Error) => options.onError?.(err);
  const counters = { epoch: 0, connects: 0, received: 0, duplicates: 0, acked: 0, published: 0, publishAcked: 0, publishFailed: 0 };
  // Publishing: in flight on the current connection (by packet id, in send order) and waiting.
  const inFlight = new Map<number, Outgoing>();
  let outQueue: Outgoing[] = [];
  let nextPublishId = FIRST_PUBLISH_ID;
  let drained: (() => void) | null = null;
  let current: Connection | null = null;
  let stopping = false;
  let leaving = false;
  let unsubscribed: (() => void) | null = null;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;

  const send = (conn: Connection, packet: Packet) => {
    if (!conn.closed) conn.socket.write(generate(packet, { protocolVersion }));
  };
  // Once per tick: all acks queued in it as one write, then what the window now has room for.
  const flushAcks = (conn: Connection) => {
    const ids = conn.pendingAcks.splice(0);
    if (ids.length === 0 || conn.closed || !conn.socket.writable) return;
    conn.socket.write(encodePubacks(ids));
    counters.acked += ids.length;
    while (conn.held.length > 0 && conn.unacked.size < receiveMaximum && !stopping && !conn.closed) {
      const packet = conn.held.shift()!;
      conn.heldBytes -= packet.payload.length;
      deliver(conn, packet);
    }
    if (conn.held.length === 0 && conn.socket.isPaused()) conn.socket.resume();
  };

  const takePublishId = (): number => {
    while (inFlight.has(nextPublishId)) nextPublishId = nextPublishId >= MAX_PACKET_ID ? FIRST_PUBLISH_ID : nextPublishId + 1;
    const id = nextPublishId;
    nextPublishId = nextPublishId >= MAX_PACKET_ID ? FIRST_PUBLISH_ID : nextPublishId + 1;
    return id;
  };
  // What the window has room for, as one write.
  const flushPublishes = (conn: Connection) => {
    if (!conn.ready || conn.closed || outQueue.length === 0) return;
    const room = Math.min(conn.sendWindow, MAX_PACKET_ID - FIRST_PUBLISH_ID) - inFlight.size;
    if (room <= 0) return;
    const batch = outQueue.length <= room ? outQueue : outQueue.slice(0, room);
    outQueue = outQueue.length <= room ? [] : outQueue.slice(room);
    const items: Array<{ msg: Outgoing; id: number; size: PublishSize }> = [];
    for (const msg of batch) {
      const size = publishSize(msg, protocolVersion);
      const refused = !isValidTopicName(msg.topic)
        ? "not a topic name (empty, a wildcard or NUL)"
        : size.topicBytes > 65_535
          ? "topic longer than 65,535 bytes"
          : size.total > conn.maxPacketSize
            ? `${size.total} bytes: the broker takes packets up to ${conn.maxPacketSize} bytes`
            : null;
      if (refused) {
        // The broker would drop the connection over it, and it would be resent first forever.
        counters.publishFailed++;
        report(mqttError(`acking consumer: not publishing to ${JSON.stringify(msg.topic.slice(0, 200))}: ${refused}`));
        continue;
      }
      const id = msg.id !== undefined && !inFlight.has(msg.id) ? msg.id : takePublishId();
      msg.id = id;
      inFlight.set(id, msg);
      items.push({ msg, id, size });
    }
    if (items.length === 0) return;
    conn.socket.write(encodePublishes(items, protocolVersion));
    counters.published += items.length;
  };
  // After PUBACKs: what they made room for goes out once per tick, as one write.
  const flushPublishesSoon = (conn: Connection) => {
    if (conn.publishFlushQueued) return;
    conn.publishFlushQueued = true;
    process.nextTick(() => {
      conn.publishFlushQueued = false;
      flushPublishes(conn);
      if (drained && inFlight.size === 0 && outQueue.length === 0) drained();
    });
  };
  function onPuback(conn: Connection, messageId: number, code: number): void {
    if (conn.closed) return;
    conn.lastInboundAt = Date.now();
    const sent = inFlight.get(messageId);
    if (!sent) return;
    inFlight.delete(messageId);
    counters.publishAcked++;
    // 0x10: accepted, no subscriber matched (a device not connected now).
    if (code >= 0x80) {
      counters.publishFailed++;
      report(mqttError(`acking consumer: broker refused a publish to ${sent.topic}: ${reason(code)}`, code));
    }
    flushPublishesSoon(conn);
  }

  function teardown(conn: Connection, err?: Error): void {
    if (conn.closed) return;
    conn.closed = true;
    clearInterval(conn.timer);
    conn.socket.destroy();
    if (err) report(err);
    if (current !== conn) return;
    current = null;
    // Unacknowledged publishes go out again, first, on the next connection.
    if (inFlight.size > 0) {
      outQueue = [...[...inFlight.values()].map((m) => ({ ...m, dup: true })), ...outQueue];
      inFlight.clear();
    }
    if (stopping) return;
    attempt = conn.ready && Date.now() - conn.readyAt > 10_000 ? 0 : attempt + 1;
    reconnectTimer = setTimeout(connect, fullJitterBackoff(attempt, 200, 10_000));
  }

  function deliver(conn: Connection, packet: IPublishPacket): void {
    const { qos, messageId: id = 0 } = packet;
    let done = qos !== 1;
    if (!done) conn.unacked.add(id);
    counters.received++;
    if (packet.dup) counters.duplicates++;
    const ack = () => {
      if (done) return;
      done = true;
      if (conn.closed || !conn.unacked.delete(id)) return;
      if (conn.pendingAcks.push(id) === 1) process.nextTick(flushAcks, conn);
    };
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    const msg: InboundMessage = { topic: packet.topic, payload, qos: qos === 1 ? 1 : 0, dup: packet.dup, receivedAt: conn.lastInboundAt, epoch: conn.epoch, ack };
    try {
      options.onMessage(msg);
    } catch (err) {
      report(err instanceof Error ? err : new Error(String(err))); // the parser must not see it
    }
  }

  function onPacket(conn: Connection, packet: Packet): void {
    if (conn.closed) return; // the rest of a chunk that arrived with the packet that ended it
    conn.lastInboundAt = Date.now();
    switch (packet.cmd) {
      case "connack": return onConnack(conn, packet);
      case "suback": return onSuback(conn, packet);
      case "unsuback": unsubscribed?.(); return;
      case "pingresp": conn.pingSentAt = null; return;
      case "puback": return onPuback(conn, packet.messageId ?? 0, packet.reasonCode ?? 0);
      case "publish": {
        if (stopping || !conn.ready) return; // not acknowledged: the broker redelivers it
        if (packet.qos === 2) return report(mqttError(`acking consumer: unexpected QoS 2 message on ${packet.topic}`));
        // Mosquitto 2.0.11 lets one PUBACK release a whole window of queued messages, so the
        // broker alone does not bound what we hold: hold back what is over the window (in
        // order). Reading goes on (the PUBACKs of our own publishes must get through) until
        // the held ones pass holdLimit; only then does the socket push back.
        if (conn.held.length === 0 && (packet.qos === 0 || conn.unacked.size < receiveMaximum)) return deliver(conn, packet);
        conn.held.push(packet);
        conn.heldBytes += packet.payload.length;
        if (conn.held.length >= holdLimit || conn.heldBytes >= HOLD_BYTES) conn.socket.pause();
        return;
      }
      case "disconnect": {
        const code = packet.reasonCode ?? 0;
        if (code === SESSION_TAKEN_OVER) stopping = true; // another process has our client id: don't fight over it
        return teardown(conn, mqttError(`acking consumer: broker disconnected us: ${reason(code)}`, code));
      }
      default: return;
    }
  }

  function onConnack(conn: Connection, packet: IConnackPacket): void {
    const code = packet.reasonCode ?? packet.returnCode ?? 0;
    if (code !== 0) return teardown(conn, mqttError(`acking consumer: ${options.url} refused the connection: ${reason(code)}`, code));
    conn.ready = true;
    conn.readyAt = Date.now();
    counters.connects++;
    clearTimeout(conn.timer);
    const keepaliveMs = (packet.properties?.serverKeepAlive ?? keepaliveSec) * 1000;
    if (keepaliveMs > 0) conn.timer = setInterval(keepalive, keepaliveMs, conn, keepaliveMs);
    conn.sendWindow = packet.properties?.receiveMaximum ?? MAX_PACKET_ID;
    conn.maxPacketSize = packet.properties?.maximumPacketSize ?? MAX_MQTT_PACKET;
    // Resent publishes are DUPs (with their packet ids) only to a session that may have seen them.
    if (!packet.sessionPresent) {
      for (const m of outQueue) {
        m.dup = false;
        m.id = undefined;
      }
    }
    options.onConnect?.({ sessionPresent: packet.sessionPresent, epoch: conn.epoch });
    if (!leaving) send(conn, { cmd: "subscribe", messageId: 1, subscriptions: options.filters.map((topic) => ({ topic, qos: 1 })) });
    flushPublishes(conn);
  }

  function onSuback(conn: Connection, packet: ISubackPacket): void {
    const granted = options.filters.map((filter, i) => {
      const g = packet.granted[i];
      return { filter, reasonCode: typeof g === "number" ? g : 0x80 };
    });
    for (const { filter, reasonCode } of granted) {
      if (reasonCode >= 0x80) report(mqttError(`acking consumer: subscription to "${filter}" refused: ${reason(reasonCode)}`, reasonCode));
      else if (reasonCode === 0) report(mqttError(`acking consumer: subscription to "${filter}" granted QoS 0 only: no acknowledgements`, 0));
    }
    options.onSubscribed?.({ epoch: conn.epoch, granted });
  }

  function keepalive(conn: Connection, keepaliveMs: number): void {
    // Anything received since the last PINGREQ proves the connection alive. While reading
    // is paused (window full) a PINGRESP cannot be seen: not a dead connection.
    if (conn.pingSentAt !== null && conn.lastInboundAt < conn.pingSentAt && !conn.socket.isPaused()) {
      return teardown(conn, new Error(`acking consumer: no PINGRESP within ${keepaliveMs / 1000} s, reconnecting`));
    }
    conn.pingSentAt = Date.now();
    send(conn, { cmd: "pingreq" });
  }

  function connect(): void {
    reconnectTimer = null;
    if (stopping) return;
    const socket = net.connect({ host, port, noDelay: true });
    const parser = createParser({ protocolVersion });
    let resolveClosed!: () => void;
    const conn: Connection = {
      epoch: ++counters.epoch, socket, ready: false, closed: false, readyAt: 0, unacked: new Set(), pendingAcks: [], held: [],
      lastInboundAt: Date.now(), pingSentAt: null, closedPromise: new Promise((r) => (resolveClosed = r)), sendWindow: 0, maxPacketSize: MAX_MQTT_PACKET, publishFlushQueued: false, heldBytes: 0,
      timer: setTimeout(() => teardown(conn, new Error(`acking consumer: no CONNACK from ${options.url} within ${connectTimeoutMs} ms`)), connectTimeoutMs),
    };
    current = conn;
    let lastError: Error | undefined;
    const malformed = (err: Error) => teardown(conn, mqttError(`acking consumer: malformed packet from broker: ${err.message}`));
    parser.on("packet", (packet) => onPacket(conn, packet));
    parser.on("error", malformed);
    const handlers: PacketHandlers = {
      publish: (packet) => onPacket(conn, packet),
      puback: (messageId, code) => onPuback(conn, messageId, code),
      other: (frame) => parser.parse(frame),
    };
    const frame = packetFramer(protocolVersion, handlers);
    socket.on("data", (chunk: Buffer) => {
      if (conn.closed) return;
      try {
        frame(chunk);
      } catch (err) {
        malformed(err as Error);
      }
    });
    socket.on("error", (err) => (lastError = err));
    socket.on("close", () => {
      const why = lastError ? `failed: ${lastError.message}` : "was closed by the broker";
      teardown(conn, stopping ? undefined : mqttError(`acking consumer: connection to ${options.url} ${why}`));
      resolveClosed();
    });
    send(conn, {
      cmd: "connect", protocolId: "MQTT", protocolVersion, clientId: options.clientId, clean: false, keepalive: keepaliveSec,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: Buffer.from(options.password) }),
      ...(protocolVersion === 5 ? { properties: { receiveMaximum, sessionExpiryInterval: options.sessionExpirySec ?? 86_400 } } : {}),
    });
  }

  const isConnected = () => current !== null && current.ready && !current.closed;
  connect();
  return {
    get connected() {
      return isConnected();
    },
    stats: () => ({ ...counters, connected: isConnected(), unacked: current?.unacked.size ?? 0, publishPending: inFlight.size + outQueue.length }),
    publish(messages) {
      if (messages.length === 0) return;
      // What the broker would refuse is refused when it is sent (flushPublishes).
      for (const { topic, payload } of messages) outQueue.push({ topic, payload, dup: false });
      const over = outQueue.length - MAX_QUEUED_PUBLISHES;
      if (over > 0) {
        outQueue.splice(0, over);
        counters.publishFailed += over;
        report(mqttError(`acking consumer: ${over} queued publishes dropped (the broker has been away too long)`));
      }
      // Next tick, like the acks: what the owner acknowledged before publishing leaves first.
      if (current) flushPublishesSoon(current);
    },
    // Leaving a shared subscription for good: until a member unsubscribes, the
    // broker keeps routing its share to the (offline) session.
    async unsubscribe() {
      leaving = true;
      const conn = current;
      if (!conn?.ready || conn.closed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3000);
        unsubscribed = () => {
          clearTimeout(timer);
          unsubscribed = null;
          resolve();
        };
        send(conn, { cmd: "unsubscribe", messageId: 2, unsubscriptions: options.filters });
      });
    },
    async stop({ graceful = true } = {}) {
      stopping = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const conn = current;
      const dropUnsent = () => {
        const unsent = inFlight.size + outQueue.length;
        if (unsent === 0) return;
        counters.publishFailed += unsent;
        inFlight.clear();
        outQueue = [];
        report(mqttError(`acking consumer: stopped with ${unsent} publishes not acknowledged by the broker`));
      };
      if (conn === null) return dropUnsent();
      if (graceful && conn.ready && !conn.closed) {
        flushAcks(conn);
        // Reading may be paused over held messages (which stay unacknowledged: the broker
        // redelivers them); the PUBACKs of our publishes must get through.
        conn.socket.resume();
        // What was answered should reach the broker before we leave (bounded: it may be gone).
        if (inFlight.size > 0 || outQueue.length > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 2000);
            drained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          drained = null;
        }
        send(conn, protocolVersion === 5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
        conn.socket.end();
        const forced = setTimeout(() => teardown(conn), 2000);
        await conn.closedPromise;
        clearTimeout(forced);
      } else {
        teardown(conn);
        await conn.closedPromise;
      }
      dropUnsent();
    },
  };
}
