// Valid state transitions of reported attributes (PROTOCOL.md, step 6).
import { isObject, type JsonObject } from "./document-rules.ts";

export const FIRMWARE_STATUSES = ["idle", "downloading", "verifying", "installing", "completed", "failed", "rolled_back"] as const;
export type FirmwareStatus = (typeof FIRMWARE_STATUSES)[number];

const RESTARTABLE = ["downloading", "idle"];
const FIRMWARE_NEXT: Record<FirmwareStatus, string[]> = {
  idle: RESTARTABLE,
  downloading: ["verifying", "failed"],
  verifying: ["installing", "failed"],
  installing: ["completed", "failed", "rolled_back"],
  completed: RESTARTABLE,
  failed: RESTARTABLE,
  rolled_back: RESTARTABLE,
};

const POWER_NEXT: Record<string, string[]> = {
  OFF: ["ON"],
  ON: ["OFF", "ACTIVE"],
  ACTIVE: ["ON", "OFF"],
};

export type TransitionViolation = { attribute: string; from: string | null; to: string };

function check(attribute: string, table: Record<string, string[]>, from: unknown, to: unknown): TransitionViolation | null {
  if (to === undefined || to === null) return null; // not reported, or removed
  const fromValue = typeof from === "string" ? from : null;
  const toValue = typeof to === "string" ? to : JSON.stringify(to);
  if (!(toValue in table)) return { attribute, from: fromValue, to: toValue };
  if (fromValue === null || !(fromValue in table)) return null; // first report of the attribute
  if (fromValue === toValue) return null; // progress updates repeat the status
  return table[fromValue]!.includes(toValue) ? null : { attribute, from: fromValue, to: toValue };
}

export function checkTransitions(current: JsonObject, patch: JsonObject): TransitionViolation | null {
  const currentFirmware = isObject(current.firmware) ? current.firmware : {};
  const patchFirmware = isObject(patch.firmware) ? patch.firmware : {};
  return (
    check("firmware.status", FIRMWARE_NEXT, currentFirmware.status, patchFirmware.status) ??
    check("power", POWER_NEXT, current.power, patch.power)
  );
}
