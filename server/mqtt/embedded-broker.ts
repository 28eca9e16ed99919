// The MQTT broker a fresh machine gets when MQTT_URL is unset: aedes on
// 127.0.0.1, enforcing the same rules as the production Mosquitto config in
// ./mosquitto (see acl.ts). State (sessions, retained messages, queued QoS 1
// messages) lives in memory: a restart of the process starts a clean broker.
//
// aedes 1.x speaks MQTT 3.1 and 3.1.1 only: an MQTT 5 CONNECT is refused with
// "unacceptable protocol version". It has no shared subscriptions either; see
// authorizeSubscribe below for what `$share/...` does here.
import { createHash, timingSafeEqual } from "node:crypto";
import net from "node:net";
import { Aedes, type AuthenticateError, type AuthErrorCode, type Client } from "aedes";
import { config } from "../config.ts";
import { canPublish, canSubscribe, isValidDeviceId, type Identity } from "./acl.ts";

/** Checks a device's MQTT password, e.g. against a credentials table. */
export type AuthenticateDevice = (id: string, password: string) => Promise<boolean>;

export type DeniedEvent = {
  clientId: string;
  identity: Identity | null;
  action: "connect" | "publish" | "subscribe";
  topic?: string;
  reason: string;
};

export type EmbeddedBrokerOptions = {
  /** Defaults to a free port chosen by the OS. */
  port?: number;
  host?: string;
  platformUsername: string;
  platformPassword: string;
  /** Defaults to accepting any password: per-device credentials come later. */
  authenticateDevice?: AuthenticateDevice;
  topicPrefix?: string;
  /** Called for every refused connect, publish or subscription (audit, tests). */
  onDenied?: (event: DeniedEvent) => void;
};

export type EmbeddedBroker = { url: string; port: number; stop(): Promise<void> };

// Denied publishes are re-addressed here instead of being refused: refusing
// makes aedes drop the connection, and a QoS 1 client then reconnects and
// resends the same message forever. Mosquitto acknowledges and drops too.
// `#` never matches `$` topics, and authorizeForward drops it for everyone.
const DENIED_TOPIC = "$fleetwave/denied";

// CONNACK return codes of MQTT 3.1.1 (aedes declares them as an ambient const
// enum, which isolatedModules cannot read).
const IDENTIFIER_REJECTED = 2 as AuthErrorCode;
const BAD_USERNAME_OR_PASSWORD = 4 as AuthErrorCode;
const NOT_AUTHORIZED = 5 as AuthErrorCode;

const acceptAnyDevice: AuthenticateDevice = async () => true;

function sameSecret(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so timingSafeEqual leaks nothing.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function authError(message: string, returnCode: AuthErrorCode): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { platformUsername, platformPassword } = options;
  if (!platformUsername || !platformPassword) throw new Error("embedded broker: platform username and password are required");
  const host = options.host ?? "127.0.0.1";
  const prefix = options.topicPrefix ?? config.topicPrefix;
  const authenticateDevice = options.authenticateDevice ?? acceptAnyDevice;
  const identities = new WeakMap<Client, Identity>();
  const denied = (event: DeniedEvent) => options.onDenied?.(event);
  const sharedGroups = new Map<string, Set<string>>();

  const broker = await Aedes.createBroker({
    // A client frozen with a full socket holds delivery slots for everyone;
    // after this long it is disconnected. Its QoS 1 messages are not lost if it
    // uses a persistent session (clean: false): they stay queued for it and are
    // redelivered on reconnect, as with Mosquitto's max_queued_messages 0.
    drainTimeout: 60_000,
    // Packets a client pipelines before its CONNACK (a reconnecting client
    // flushing its offline queue); aedes' default of 42 drops the connection.
    queueLimit: 10_000,
    // Device ids are up to 64 characters, beyond MQTT 3.1's 23.
    maxClientsIdLength: 64,

    authenticate(client, username, password, done) {
      const secret = password?.toString("utf8") ?? "";
      if (username !== undefined && username === platformUsername) {
        if (!sameSecret(secret, platformPassword)) {
          denied({ clientId: client.id, identity: null, action: "connect", reason: "bad platform password" });
          return done(authError("bad user name or password", BAD_USERNAME_OR_PASSWORD), null);
        }
        identities.set(client, { kind: "platform" });
        return done(null, true);
      }
      // A device may not borrow another device's client id: that would take
      // over (and disconnect) the other device's session.
      if (username === undefined || !isValidDeviceId(username) || client.id !== username) {
        denied({ clientId: client.id, identity: null, action: "connect", reason: "client id must equal username, a valid device id" });
        return done(authError("client id must equal username", IDENTIFIER_REJECTED), null);
      }
      authenticateDevice(username, secret).then(
        (ok) => {
          if (!ok) {
            denied({ clientId: client.id, identity: null, action: "connect", reason: "bad device password" });
            return done(authError("bad user name or password", BAD_USERNAME_OR_PASSWORD), null);
          }
          identities.set(client, { kind: "device", id: username });
          done(null, true);
        },
        (err: unknown) => {
          // A failing credentials store must not let devices in.
          denied({ clientId: client.id, identity: null, action: "connect", reason: `authenticateDevice failed: ${String(err)}` });
          done(authError("not authorized", NOT_AUTHORIZED), null);
        },
      );
    },

    authorizePublish(client, packet, done) {
      // client is null only for wills aedes republishes from its own store,
      // which were checked when their owner's connection closed.
      if (client === null) return done(null);
      const identity = identities.get(client) ?? null;
      if (identity === null || !canPublish(identity, packet.topic, prefix)) {
        denied({ clientId: client.id, identity, action: "publish", topic: packet.topic, reason: "acl" });
        packet.topic = DENIED_TOPIC;
        packet.retain = false;
      }
      done(null);
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client) ?? null;
      if (identity === null || !canSubscribe(identity, subscription.topic, prefix)) {
        denied({ clientId: client.id, identity, action: "subscribe", topic: subscription.topic, reason: "acl" });
        return done(null, null); // SUBACK 0x80
      }
      const shared = /^\$share\/([^/]+)\/(.+)$/.exec(subscription.topic);
      if (shared?.[1] !== undefined && shared[2] !== undefined) {
        // No shared subscriptions in aedes: a `$share` filter would silently
        // match nothing. Subscribing to the plain filter is right for one
        // member; several members each get every message (warned once).
        const members = sharedGroups.get(subscription.topic) ?? new Set<string>();
        members.add(client.id);
        sharedGroups.set(subscription.topic, members);
        if (members.size === 2) {
          console.warn(`[mqtt] embedded broker: "${subscription.topic}" has several members; aedes delivers every message to each of them`);
        }
        return done(null, { ...subscription, topic: shared[2] });
      }
      done(null, subscription);
    },

    authorizeForward(_client, packet) {
      return packet.topic === DENIED_TOPIC ? null : packet;
    },
  });

  // aedes races storing a QoS 1 message for a persistent session against
  // delivering it: under load (a fleet connecting at once) the delivery's
  // messageId update finds no stored packet yet, aedes calls that a client
  // error and drops the worker's connection, over and over. The message itself
  // is fine: deliver it; the stored copy (once stored) is redelivered after a
  // reconnect, which the ingest answers as a duplicate.
  const persistence = (broker as unknown as { persistence: unknown }).persistence as { outgoingUpdate(client: unknown, packet: unknown): Promise<unknown> };
  const outgoingUpdate = persistence.outgoingUpdate.bind(persistence);
  persistence.outgoingUpdate = (client, packet) =>
    outgoingUpdate(client, packet).catch((err: Error) => {
      if (err?.message === "no such packet") return undefined;
      throw err;
    });
  // A platform client losing its connection is worth a line: the worker reconnects, but why it was dropped matters.
  broker.on("clientError", (client, err) => {
    if (client.id?.startsWith("fleetwave-")) console.error(`[mqtt] embedded broker dropped ${client.id}: ${err instanceof Error ? err.message : String(err)}`);
  });
  broker.on("clientDisconnect", (client) => {
    for (const members of sharedGroups.values()) members.delete(client.id);
  });

  const server = net.createServer((socket) => broker.handle(socket));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("embedded broker: no TCP address");
  const port = address.port;
  const url = `mqtt://${host}:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Closing the broker closes every client socket, which lets server.close finish.
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await closed;
      })();
      return stopping;
    },
  };
}
