// Live rooms and who may join them. Socket connections are authorised with
// the same permission table as tRPC (server/auth/permissions.ts).
import { can, type Role } from "@/server/auth/permissions.ts";
import { DEVICE_ID_PATTERN } from "@/server/devices/rules.ts";

export const FLEET_ROOM = "fleet";

export type Room = { kind: "fleet" } | { kind: "rollout"; id: string } | { kind: "device"; id: string };

export const roomName = {
  fleet: () => FLEET_ROOM,
  rollout: (id: string) => `rollout:${id}`,
  device: (id: string) => `device:${id}`,
};

export function parseRoom(name: unknown): Room | null {
  if (name === FLEET_ROOM) return { kind: "fleet" };
  if (typeof name !== "string") return null;
  const [kind, id, ...rest] = name.split(":");
  if (rest.length > 0 || !id) return null;
  if (kind === "device" && DEVICE_ID_PATTERN.test(id)) return { kind: "device", id };
  if (kind === "rollout" && /^[A-Za-z0-9_-]{1,64}$/.test(id)) return { kind: "rollout", id };
  return null;
}

/** Every room shows fleet data; rooms needing more (e.g. an audit feed) add their permission here. */
export function canJoinRoom(role: Role, room: Room): boolean {
  switch (room.kind) {
    case "fleet":
    case "rollout":
    case "device":
      return can(role, "fleet:read");
  }
}

/** Events pushed to browsers: "what changed", so clients refetch or patch. */
export type LiveEvents = {
  "devices.changed": { reason: "import" | "status" | "shadow"; count?: number; deviceIds?: string[] };
  "device.changed": { deviceId: string; version?: number };
  "rollout.changed": { rolloutId: string; state: string };
  "rollouts.changed": { rolloutId: string };
  "alert.raised": { id: string; severity: "info" | "warning" | "critical"; title: string };
};
export type LiveEventName = keyof LiveEvents;
