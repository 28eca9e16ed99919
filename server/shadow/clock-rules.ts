// Clock and time-zone checks. They never reject an update (PROTOCOL.md): they
// produce findings that the device page shows and alerting raises.

export type FindingKind = "clock_drift" | "ntp_stale" | "timezone_invalid" | "timezone_unexpected";
export type Severity = "info" | "warning" | "critical";
export type Finding = { kind: FindingKind; severity: Severity; title: string; detail: Record<string, unknown> };

export const DEFAULT_MAX_SKEW_SEC = 300;
export const NTP_MAX_AGE_SEC = 24 * 3600;

// Region prefix → the IANA areas a device there is expected to use. UTC is
// accepted everywhere: many fleets run devices on UTC on purpose.
const REGION_AREAS: Record<string, string[]> = {
  eu: ["Europe/", "Atlantic/"],
  us: ["America/", "US/", "Pacific/Honolulu"],
  ca: ["America/", "Canada/"],
  sa: ["America/"],
  latam: ["America/"],
  ap: ["Asia/", "Australia/", "Pacific/", "Indian/"],
  apac: ["Asia/", "Australia/", "Pacific/", "Indian/"],
  me: ["Asia/", "Africa/"],
  af: ["Africa/"],
};
const ALWAYS_OK = new Set(["UTC", "Etc/UTC", "Etc/GMT", "GMT"]);

const knownZones = new Set<string>(
  typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [],
);

/** The zone's canonical IANA name (links resolved), or null when it is not an IANA zone. */
function canonicalZone(zone: string): string | null {
  if (knownZones.has(zone) || ALWAYS_OK.has(zone)) return zone;
  // Newer engines also take UTC offsets ("+01:00"), which are not IANA zones.
  if (/^[+-]/.test(zone)) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

export function isValidTimeZone(zone: string): boolean {
  return canonicalZone(zone) !== null;
}

export function expectedAreas(region: string): string[] | null {
  const prefix = region.toLowerCase().split(/[-_]/)[0] ?? "";
  return REGION_AREAS[prefix] ?? null;
}

export type ClockInput = { deviceTime: number; ntpSyncedAt?: number; timezone?: string };

export function clockFindings(input: ClockInput, serverTime: number, region: string, maxSkewSec = DEFAULT_MAX_SKEW_SEC): { skewSec: number; findings: Finding[] } {
  const skewSec = Math.round((serverTime - input.deviceTime) * 1000) / 1000;
  const findings: Finding[] = [];
  if (Math.abs(skewSec) > maxSkewSec) {
    findings.push({ kind: "clock_drift", severity: "warning", title: "Device clock drift detected", detail: { skewSec, maxSkewSec } });
  }
  if (input.ntpSyncedAt !== undefined && serverTime - input.ntpSyncedAt > NTP_MAX_AGE_SEC) {
    findings.push({
      kind: "ntp_stale",
      severity: "warning",
      title: "Device clock not synchronised for over 24 h",
      detail: { ntpSyncedAt: input.ntpSyncedAt, ageSec: Math.round(serverTime - input.ntpSyncedAt) },
    });
  }
  if (input.timezone !== undefined) {
    const canonical = canonicalZone(input.timezone);
    if (canonical === null) {
      findings.push({ kind: "timezone_invalid", severity: "info", title: "Device reports an invalid time zone", detail: { timezone: input.timezone } });
    } else {
      const areas = expectedAreas(region);
      const fits = (zone: string) => ALWAYS_OK.has(zone) || areas!.some((a) => zone.startsWith(a));
      if (areas && !fits(input.timezone) && !fits(canonical)) {
        findings.push({
          kind: "timezone_unexpected",
          severity: "info",
          title: "Device time zone unexpected for its region",
          detail: { timezone: input.timezone, region, expected: areas },
        });
      }
    }
  }
  return { skewSec, findings };
}
