import { describe, expect, it } from "vitest";
import { partitionForDay } from "./timeseries.ts";

describe("partitionForDay", () => {
  it("runs in a zone behind UTC (the unit project's TZ), or these tests prove nothing", () => {
    expect(new Date("2026-01-15T12:00:00Z").getTimezoneOffset()).toBe(300);
  });

  it("names and bounds partitions by UTC day, not local day", () => {
    // 22:30 on March 7 in New York is already March 8 in UTC.
    expect(partitionForDay(new Date("2026-03-08T03:30:00Z"))).toEqual({
      name: "shadow_events_p20260308",
      from: "2026-03-08 00:00:00+00",
      to: "2026-03-09 00:00:00+00",
    });
  });

  it("puts the first and last millisecond of a day in the same partition", () => {
    expect(partitionForDay(new Date("2026-12-31T00:00:00.000Z")).name).toBe("shadow_events_p20261231");
    expect(partitionForDay(new Date("2026-12-31T23:59:59.999Z"))).toEqual({
      name: "shadow_events_p20261231",
      from: "2026-12-31 00:00:00+00",
      to: "2027-01-01 00:00:00+00",
    });
  });
});
