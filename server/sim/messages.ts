// The device's vocabulary of PROTOCOL.md: payload shapes it sends, the
// reported attributes it keeps, and lenient readers for what it receives
// (the platform is trusted, but a device must not crash on a surprise).

export type Power = "ON" | "ACTIVE" | "OFF";
export type FirmwareStatus = "idle" | "downloading" | "verifying" | "installing" | "completed" | "failed" | "rolled_back";
export type Json = Record<string, unknown>;

export type ShadowUpdate = {
  seq: number;
  version: number;
  deviceTime: number;
  clientToken: string;
  ntpSyncedAt: number;
  timezone: string;
  state: { reported: Json };
};

const STATUSES = new Set<string>(["idle", "downloading", "verifying", "installing", "completed", "failed", "rolled_back"]);
const POWERS = new Set<string>(["ON", "ACTIVE", "OFF"]);
export const IN_PROGRESS = new Set<FirmwareStatus>(["downloading", "verifying", "installing"]);

export const obj = (v: unknown): Json | null => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : null);
export const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export const isPower = (v: unknown): v is Power => typeof v === "string" && POWERS.has(v);
export const isFirmwareStatus = (v: unknown): v is FirmwareStatus => typeof v === "string" && STATUSES.has(v);

/** The attributes the device tracks, as far as a reported fragment sets them. */
export function readReported(value: unknown): { power?: Power; firmware?: string; status?: FirmwareStatus } {
  const reported = obj(value);
  if (!reported) return {};
  const fw = obj(reported.firmware);
  return {
    ...(isPower(reported.power) ? { power: reported.power } : {}),
    ...(typeof fw?.version === "string" ? { firmware: fw.version } : {}),
    ...(isFirmwareStatus(fw?.status) ? { status: fw.status } : {}),
  };
}

/** Mostly ON ↔ ACTIVE, now and then off and back on; never OFF → ACTIVE. */
export function nextPower(current: Power, r: number): Power {
  if (current === "OFF") return r < 0.5 ? "ON" : "OFF";
  if (r < 0.02) return "OFF";
  if (r < 0.3) return current === "ON" ? "ACTIVE" : "ON";
  return current;
}
