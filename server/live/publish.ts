// Cross-process push: any process (web request, worker) publishes through
// PostgreSQL NOTIFY; every web node's socket.io Postgres adapter delivers to
// its own sockets. Routine "what changed" events are coalesced per room and
// event (at most one per interval, the latest payload wins); alerts go at once.
//
// The message is the adapter's own broadcast format. (@socket.io/postgres-emitter
// 0.1.1 omits the `nsp` field that @socket.io/postgres-adapter 0.5 requires, so
// its broadcasts are silently dropped; e2e/live.spec.ts catches that.)
import { getPool } from "@/server/db/client.ts";
import type { LiveEventName, LiveEvents } from "./rooms.ts";

export const LIVE_CHANNEL_PREFIX = "fleetwave_live";
export const LIVE_ATTACHMENTS_TABLE = "socket_io_attachments";
const CHANNEL = `${LIVE_CHANNEL_PREFIX}#/`;
const BROADCAST = 3; // socket.io-adapter ClusterAdapter MessageType.BROADCAST
const EVENT = 2; // socket.io-parser PacketType.EVENT
// NOTIFY payloads must stay under 8000 bytes.
const MAX_NOTIFY_BYTES = 7900;
const MIN_INTERVAL_MS = Number(process.env.LIVE_THROTTLE_MS ?? 300);

type Pending = { timer: NodeJS.Timeout; payload: unknown };

const globalForLive = globalThis as unknown as {
  fleetwaveLive?: { lastSent: Map<string, number>; pending: Map<string, Pending> };
};

function state() {
  globalForLive.fleetwaveLive ??= { lastSent: new Map(), pending: new Map() };
  return globalForLive.fleetwaveLive;
}

export function broadcastMessage(room: string, event: string, payload: unknown): string {
  const encode = (data: unknown) =>
    JSON.stringify({ uid: "fleetwave", nsp: "/", type: BROADCAST, data: { packet: { type: EVENT, nsp: "/", data: [event, data] }, opts: { rooms: [room], except: [], flags: {} } } });
  const message = encode(payload);
  if (Buffer.byteLength(message) <= MAX_NOTIFY_BYTES) return message;
  // Too big for NOTIFY: drop the detail lists; "what changed" stays true and clients refetch more broadly.
  const { deviceIds: _dropped, ...rest } = (payload ?? {}) as Record<string, unknown>;
  return encode({ ...rest, truncated: true });
}

function send(room: string, event: string, payload: unknown) {
  // Live push is best effort: clients refetch on reconnect, so a lost event only delays a view.
  getPool()
    .query("SELECT pg_notify($1, $2)", [CHANNEL, broadcastMessage(room, event, payload)])
    .catch((err: Error) => console.error("[live] publish failed:", err.message));
}

export function publishLive<E extends LiveEventName>(room: string, event: E, payload: LiveEvents[E]): void {
  const s = state();
  const key = `${room}\u0000${event}`;
  const pending = s.pending.get(key);
  if (pending) {
    pending.payload = payload;
    return;
  }
  const wait = (s.lastSent.get(key) ?? 0) + MIN_INTERVAL_MS - Date.now();
  if (wait <= 0) {
    s.lastSent.set(key, Date.now());
    send(room, event, payload);
    return;
  }
  const timer = setTimeout(() => {
    const entry = s.pending.get(key);
    s.pending.delete(key);
    s.lastSent.set(key, Date.now());
    send(room, event, entry?.payload ?? payload);
  }, wait);
  timer.unref();
  s.pending.set(key, { timer, payload });
}

/** For alerts: never delayed or coalesced. */
export function publishLiveNow<E extends LiveEventName>(room: string, event: E, payload: LiveEvents[E]): void {
  send(room, event, payload);
}
