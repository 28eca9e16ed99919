// Fault injection (the `--duplicates`, `--reorder`, … flags) and the
// per-device clock/time-zone profile. Which devices are "faulty" is derived
// from a hash of the id, so the same devices misbehave across restarts.

export type FaultOptions = {
  /** Probability per update of re-sending it unchanged (a QoS 1 retry). */
  duplicates: number;
  /** Probability per update of sending it together with the next one, swapped. */
  reorder: number;
  /** Probability per update of skipping more than 100 sequence numbers first. */
  seqJump: number;
  /** Clock offset of the skewed devices, seconds (sign chosen per device). */
  clockSkewSec: number;
  /** Fraction of devices that get each of clock skew, stale NTP, bad time zone. */
  skewedFraction: number;
  staleNtp: boolean;
  badTimezone: boolean;
  /** Probability per update of the device dropping off the network afterwards. */
  offline: number;
  /** Mean length of an offline spell, seconds. */
  offlineForSec: number;
  /** Seconds after start when every device drops and reconnects at once. */
  massReconnectAtSec: number | null;
};

export const NO_FAULTS: FaultOptions = {
  duplicates: 0,
  reorder: 0,
  seqJump: 0,
  clockSkewSec: 0,
  skewedFraction: 0.1,
  staleNtp: false,
  badTimezone: false,
  offline: 0,
  offlineForSec: 30,
  massReconnectAtSec: null,
};

export type DeviceProfile = {
  clockSkewMs: number;
  ntpStale: boolean;
  timezone: string;
  /** Offset of the device's hourly NTP sync, ms (spreads syncs over the hour). */
  ntpPhaseMs: number;
  /** Stable per-device number in [0, 1) for telemetry baselines. */
  seed: number;
};

// The prefixes match the platform's expectations (server/shadow/clock-rules.ts:
// `eu` → Europe/, `us` → America/, `ap` → Asia/…); UTC is accepted everywhere.
const REGION_TIMEZONES: Record<string, string> = {
  "eu-west": "Europe/Dublin",
  "eu-central": "Europe/Berlin",
  "eu-north": "Europe/Stockholm",
  "us-east": "America/New_York",
  "us-west": "America/Los_Angeles",
  "us-central": "America/Chicago",
  "ap-south": "Asia/Kolkata",
  "ap-southeast": "Asia/Singapore",
  "ap-northeast": "Asia/Tokyo",
};
export const INVALID_TIMEZONE = "Europe/Atlantis";
const HOUR_MS = 3_600_000;
const STALE_NTP_MS = 2 * 24 * HOUR_MS;

/** FNV-1a of `salt:id`, as a number in [0, 1). */
export function hashUnit(id: string, salt: string): number {
  let h = 0x811c9dc5;
  const s = `${salt}:${id}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

export function timezoneForRegion(region: string | undefined): string {
  return (region && REGION_TIMEZONES[region.toLowerCase()]) || "UTC";
}

export function deviceProfile(id: string, region: string | undefined, faults: FaultOptions): DeviceProfile {
  const chosen = (salt: string) => hashUnit(id, salt) < faults.skewedFraction;
  const skewed = faults.clockSkewSec !== 0 && chosen("skew");
  const sign = hashUnit(id, "skew-sign") < 0.5 ? -1 : 1;
  return {
    clockSkewMs: skewed ? sign * faults.clockSkewSec * 1000 : 0,
    ntpStale: faults.staleNtp && chosen("ntp"),
    timezone: faults.badTimezone && chosen("tz") ? INVALID_TIMEZONE : timezoneForRegion(region),
    ntpPhaseMs: Math.floor(hashUnit(id, "ntp-phase") * HOUR_MS),
    seed: hashUnit(id, "seed"),
  };
}

/** Unix seconds of the device's last NTP sync: hourly, or two days ago for a stale device. */
export function ntpSyncedAt(profile: DeviceProfile, deviceNowMs: number): number {
  const lastHourly = deviceNowMs - ((deviceNowMs + profile.ntpPhaseMs) % HOUR_MS);
  return Math.floor((profile.ntpStale ? lastHourly - STALE_NTP_MS : lastHourly) / 1000);
}

/** Length of one offline spell: uniform around the mean (half to one and a half times it). */
export function offlineSpellMs(faults: FaultOptions, random: () => number): number {
  return Math.round(faults.offlineForSec * 1000 * (0.5 + random()));
}
