import { describe, expect, it } from "vitest";
import { deviceProfile, INVALID_TIMEZONE, NO_FAULTS, ntpSyncedAt } from "./faults.ts";

const ids = Array.from({ length: 2000 }, (_, i) => `dev-${i}`);

describe("per-device fault profile", () => {
  it("gives about --skewed-fraction of the devices each fault, the same devices every run", () => {
    const faults = { ...NO_FAULTS, clockSkewSec: 600, skewedFraction: 0.25, staleNtp: true, badTimezone: true };
    const profiles = ids.map((id) => deviceProfile(id, "eu-central", faults));
    const share = (pick: (p: (typeof profiles)[number]) => boolean) => profiles.filter(pick).length / ids.length;
    expect(share((p) => p.clockSkewMs !== 0)).toBeCloseTo(0.25, 1);
    expect(share((p) => p.ntpStale)).toBeCloseTo(0.25, 1);
    expect(share((p) => p.timezone === INVALID_TIMEZONE)).toBeCloseTo(0.25, 1);
    expect(new Set(profiles.filter((p) => p.clockSkewMs !== 0).map((p) => Math.abs(p.clockSkewMs)))).toEqual(new Set([600_000]));
    expect(ids.map((id) => deviceProfile(id, "eu-central", faults))).toEqual(profiles);
  });

  it("reports zones that fit the region, UTC where the region is unknown, and an invalid zone as invalid", () => {
    expect(deviceProfile("a", "us-west", NO_FAULTS).timezone).toBe("America/Los_Angeles");
    expect(deviceProfile("a", "mars-1", NO_FAULTS).timezone).toBe("UTC");
    expect(() => new Intl.DateTimeFormat("en-US", { timeZone: INVALID_TIMEZONE })).toThrow();
  });

  it("keeps ntpSyncedAt within the last hour, or two days old for a stale device", () => {
    const now = Date.UTC(2026, 6, 18, 12, 0, 0);
    const fresh = deviceProfile("a", undefined, NO_FAULTS);
    const stale = { ...fresh, ntpStale: true };
    expect(now / 1000 - ntpSyncedAt(fresh, now)).toBeLessThanOrEqual(3600);
    expect(now / 1000 - ntpSyncedAt(stale, now)).toBeGreaterThan(48 * 3600);
    expect(now / 1000 - ntpSyncedAt(stale, now)).toBeLessThanOrEqual(49 * 3600);
  });
});
