// The broker ACL of PROTOCOL.md ("Security") as pure functions, so the embedded
// broker enforces exactly what server/mqtt/mosquitto/acl gives production:
// `pattern readwrite fleet/%u/#` for devices, everything for the platform.
import { config } from "../config.ts";
import { DEVICE_ID_PATTERN } from "../devices/rules.ts";

export type Identity = { kind: "platform" } | { kind: "device"; id: string };

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

// Mosquitto's `fleet/%u/#` also matches `fleet/{id}` itself ("#" matches the
// parent level), so that is allowed too: both brokers must agree.
function ownSubtree(id: string, prefix: string, topic: string): string[] | null {
  const base = `${prefix}/${id}`;
  if (topic === base) return [];
  if (!topic.startsWith(`${base}/`)) return null;
  return topic.slice(base.length + 1).split("/");
}

function isValidFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split("/");
  return levels.every((level, i) => {
    if (level.includes("#")) return level === "#" && i === levels.length - 1;
    if (level.includes("+")) return level === "+";
    return true;
  });
}

/** MQTT's rule for a topic name (what a PUBLISH may carry): not empty, no wildcard, no U+0000. */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic);
}

export function canPublish(identity: Identity, topic: string, prefix: string = config.topicPrefix): boolean {
  if (!isValidTopicName(topic)) return false;
  // `$`-topics belong to the broker ($SYS); publishing there is a known DoS on aedes.
  if (topic.startsWith("$")) return false;
  if (identity.kind === "platform") return true;
  if (!isValidDeviceId(identity.id)) return false;
  return ownSubtree(identity.id, prefix, topic) !== null;
}

export function canSubscribe(identity: Identity, filter: string, prefix: string = config.topicPrefix): boolean {
  if (!isValidFilter(filter)) return false;
  if (identity.kind === "platform") return true;
  if (!isValidDeviceId(identity.id)) return false;
  // The id level is compared literally, so `fleet/+/#` or `#` can never match
  // it; wildcards are only allowed below the device's own level.
  return ownSubtree(identity.id, prefix, filter) !== null;
}
