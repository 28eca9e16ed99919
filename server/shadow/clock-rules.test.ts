// PROTOCOL.md, "Clock checks never reject": skew = serverTime − deviceTime,
// |skew| > 300 s (per device type) → warning "Device clock drift detected";
// ntpSyncedAt older than 24 h → warning; a timezone that is not a valid IANA
// zone, or not one expected for the device's region → info.
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_SKEW_SEC, NTP_MAX_AGE_SEC, clockFindings, expectedAreas, isValidTimeZone } from "./clock-rules.ts";

const NOW = 1_721_305_247;
const kinds = (r: ReturnType<typeof clockFindings>) => r.findings.map((f) => f.kind);

describe("clock skew", () => {
  it("is serverTime − deviceTime, in seconds, signed", () => {
    expect(clockFindings({ deviceTime: NOW - 2 }, NOW, "eu-central").skewSec).toBe(2);
    expect(clockFindings({ deviceTime: NOW + 7 }, NOW, "eu-central").skewSec).toBe(-7);
    expect(clockFindings({ deviceTime: NOW - 1.25 }, NOW + 0.5, "eu-central").skewSec).toBe(1.75);
  });

  it("defaults to a 300 s tolerance", () => {
    expect(DEFAULT_MAX_SKEW_SEC).toBe(300);
  });

  it.each([
    [300, false],
    [-300, false],
    [300.5, true],
    [301, true],
    [-301, true],
    [86_400 * 365, true],
  ])("skew %s s → drift warning: %s", (skew, warns) => {
    const r = clockFindings({ deviceTime: NOW - skew }, NOW, "eu-central");
    expect(kinds(r)).toEqual(warns ? ["clock_drift"] : []);
    if (warns) {
      expect(r.findings[0]).toEqual({ kind: "clock_drift", severity: "warning", title: "Device clock drift detected", detail: { skewSec: skew, maxSkewSec: 300 } });
    }
  });

  it("uses the per-device (per-type) maximum when given", () => {
    expect(kinds(clockFindings({ deviceTime: NOW - 61 }, NOW, "eu-central", 60))).toEqual(["clock_drift"]);
    expect(kinds(clockFindings({ deviceTime: NOW - 60 }, NOW, "eu-central", 60))).toEqual([]);
    expect(kinds(clockFindings({ deviceTime: NOW - 900 }, NOW, "eu-central", 1_000))).toEqual([]);
    expect(clockFindings({ deviceTime: NOW + 61 }, NOW, "eu-central", 60).findings[0]).toMatchObject({ severity: "warning", detail: { skewSec: -61, maxSkewSec: 60 } });
  });

  it("a device clock at 0 (never set) is a drift, not an error", () => {
    expect(kinds(clockFindings({ deviceTime: 0 }, NOW, "eu-central"))).toEqual(["clock_drift"]);
  });
});

describe("NTP age", () => {
  it("warns when the last NTP sync is older than 24 h", () => {
    expect(NTP_MAX_AGE_SEC).toBe(86_400);
    const r = clockFindings({ deviceTime: NOW, ntpSyncedAt: NOW - 86_401 }, NOW, "eu-central");
    expect(r.findings).toEqual([
      { kind: "ntp_stale", severity: "warning", title: expect.any(String), detail: { ntpSyncedAt: NOW - 86_401, ageSec: 86_401 } },
    ]);
  });

  it("does not warn at exactly 24 h, for recent syncs, in the future, or when not reported", () => {
    expect(kinds(clockFindings({ deviceTime: NOW, ntpSyncedAt: NOW - 86_400 }, NOW, "eu-central"))).toEqual([]);
    expect(kinds(clockFindings({ deviceTime: NOW, ntpSyncedAt: NOW - 5_000 }, NOW, "eu-central"))).toEqual([]);
    expect(kinds(clockFindings({ deviceTime: NOW, ntpSyncedAt: NOW + 10 }, NOW, "eu-central"))).toEqual([]);
    expect(kinds(clockFindings({ deviceTime: NOW }, NOW, "eu-central"))).toEqual([]);
  });

  it("is judged by server time, so it is reported together with a drift", () => {
    expect(kinds(clockFindings({ deviceTime: NOW - 4_000, ntpSyncedAt: NOW - 200_000 }, NOW, "eu-central"))).toEqual(["clock_drift", "ntp_stale"]);
  });
});

describe("time zones", () => {
  it("accepts valid IANA zones", () => {
    for (const z of ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Etc/GMT+5", "America/Argentina/Buenos_Aires"]) {
      expect(isValidTimeZone(z), z).toBe(true);
    }
  });

  it("accepts IANA names without an area and old (backward) links", () => {
    for (const z of ["CET", "EST5EDT", "Japan", "Zulu", "US/Eastern", "Asia/Calcutta", "Asia/Kolkata", "Europe/Kiev", "Europe/Kyiv"]) {
      expect(isValidTimeZone(z), z).toBe(true);
    }
  });

  it("rejects what is not an IANA zone: made-up names, UTC offsets, empty", () => {
    for (const z of ["Mars/Olympus", "Europe/Atlantis", "+01:00", "-05:00", "GMT+5", "", "Berlin", "local", "localtime"]) {
      expect(isValidTimeZone(z), z).toBe(false);
    }
  });

  it("an invalid zone raises an info finding, never more", () => {
    const r = clockFindings({ deviceTime: NOW, timezone: "Mars/Olympus" }, NOW, "eu-central");
    expect(r.findings).toEqual([{ kind: "timezone_invalid", severity: "info", title: expect.any(String), detail: { timezone: "Mars/Olympus" } }]);
  });

  it("a zone unexpected for the device's region raises an info finding", () => {
    const r = clockFindings({ deviceTime: NOW, timezone: "America/New_York" }, NOW, "eu-central");
    expect(r.findings).toEqual([
      { kind: "timezone_unexpected", severity: "info", title: expect.any(String), detail: { timezone: "America/New_York", region: "eu-central", expected: expectedAreas("eu-central") } },
    ]);
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "Europe/Berlin" }, NOW, "us-east"))).toEqual(["timezone_unexpected"]);
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "Asia/Tokyo" }, NOW, "af-south"))).toEqual(["timezone_unexpected"]);
  });

  it.each([
    ["eu-central", "Europe/Berlin"],
    ["eu-west-1", "Europe/Dublin"],
    ["EU_NORTH", "Europe/Stockholm"],
    ["us-east", "America/New_York"],
    ["us-west", "US/Pacific"],
    ["us-west", "Pacific/Honolulu"],
    ["ap-northeast", "Asia/Tokyo"],
    ["apac", "Australia/Sydney"],
    ["ca-central", "America/Toronto"],
    ["af-south", "Africa/Johannesburg"],
    ["me-central", "Asia/Dubai"],
  ])("region %s expects %s", (region, timezone) => {
    expect(kinds(clockFindings({ deviceTime: NOW, timezone }, NOW, region))).toEqual([]);
  });

  it("judges links by the zone they stand for", () => {
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "CET" }, NOW, "eu-central"))).toEqual([]);
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "Japan" }, NOW, "ap-northeast"))).toEqual([]);
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "Japan" }, NOW, "eu-central"))).toEqual(["timezone_unexpected"]);
  });

  it("UTC is fine everywhere, under any of its names", () => {
    for (const region of ["eu-central", "us-east", "ap-south", "af-south", "mars-1"]) {
      for (const timezone of ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu"]) {
        expect(kinds(clockFindings({ deviceTime: NOW, timezone }, NOW, region)), `${timezone} in ${region}`).toEqual([]);
      }
    }
  });

  it("does not judge the zone of a region it does not know", () => {
    expect(expectedAreas("mars-1")).toBeNull();
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "Asia/Tokyo" }, NOW, "mars-1"))).toEqual([]);
    // ...but an invalid zone is still invalid
    expect(kinds(clockFindings({ deviceTime: NOW, timezone: "Nowhere/Special" }, NOW, "mars-1"))).toEqual(["timezone_invalid"]);
  });

  it("no timezone, no finding", () => {
    expect(clockFindings({ deviceTime: NOW }, NOW, "eu-central").findings).toEqual([]);
  });
});

describe("findings together", () => {
  it("drift, stale NTP and a bad zone are all reported, with their severities", () => {
    const r = clockFindings({ deviceTime: NOW - 1_000, ntpSyncedAt: NOW - 100_000, timezone: "Not/AZone" }, NOW, "eu-central");
    expect(r.findings.map((f) => [f.kind, f.severity])).toEqual([
      ["clock_drift", "warning"],
      ["ntp_stale", "warning"],
      ["timezone_invalid", "info"],
    ]);
  });
});
