// The one place that knows topic strings (PROTOCOL.md, "Transport").
import { config } from "@/server/config.ts";
import { DEVICE_ID_PATTERN } from "@/server/devices/rules.ts";

export const DEVICE_TOPICS = ["shadow/update", "shadow/get", "sync/request", "sync/complete", "status"] as const;
export type DeviceTopic = (typeof DEVICE_TOPICS)[number];

export const RESPONSE_TOPICS = [
  "shadow/update/accepted",
  "shadow/update/rejected",
  "shadow/get/accepted",
  "shadow/get/rejected",
  "shadow/delta",
  "sync",
] as const;
export type ResponseTopic = (typeof RESPONSE_TOPICS)[number];

export function deviceTopic(deviceId: string, suffix: DeviceTopic | ResponseTopic, prefix = config.topicPrefix): string {
  return `${prefix}/${deviceId}/${suffix}`;
}

/** Shared-subscription filter for a device topic, so several workers split the load. */
export function sharedFilter(suffix: DeviceTopic, group = "ingest", prefix = config.topicPrefix): string {
  return `$share/${group}/${prefix}/+/${suffix}`;
}

/** Splits `fleet/{id}/{suffix}`; null for anything that is not a device topic. */
export function parseDeviceTopic(topic: string, prefix = config.topicPrefix): { deviceId: string; suffix: DeviceTopic } | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const rest = topic.slice(prefix.length + 1);
  const slash = rest.indexOf("/");
  if (slash <= 0) return null;
  const deviceId = rest.slice(0, slash);
  const suffix = rest.slice(slash + 1);
  if (!DEVICE_ID_PATTERN.test(deviceId)) return null;
  return (DEVICE_TOPICS as readonly string[]).includes(suffix) ? { deviceId, suffix: suffix as DeviceTopic } : null;
}
