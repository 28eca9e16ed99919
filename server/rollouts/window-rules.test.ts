// Maintenance windows: a 5-field cron opens a window of `durationMin` minutes
// in a time zone; outside it no new device starts. The unit project runs in
// America/New_York, so a slip into the process's local time shows up here.
import { describe, expect, it } from "vitest";
import { CronError, cronMatches, isWithinWindow, parseCron, type MaintenanceWindow } from "./window-rules.ts";

const BERLIN_NIGHTLY: MaintenanceWindow = { cron: "0 2 * * *", durationMin: 240, timeZone: "Europe/Berlin" };
const at = (iso: string) => new Date(iso);
const open = (w: MaintenanceWindow | null, iso: string) => isWithinWindow(w, at(iso));
const matches = (cron: string, iso: string, tz = "UTC") => cronMatches(parseCron(cron), at(iso), tz);

describe("0 2 * * * for 240 min in Europe/Berlin", () => {
  it("the test process is not in Berlin (nor UTC)", () => {
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("America/New_York");
  });

  it.each([
    ["2026-01-15T00:59:00+01:00", false],
    ["2026-01-15T01:59:59+01:00", false],
    ["2026-01-15T02:00:00+01:00", true],
    ["2026-01-15T03:00:00+01:00", true],
    ["2026-01-15T05:59:59+01:00", true],
    ["2026-01-15T06:00:00+01:00", false],
    ["2026-01-15T07:00:00+01:00", false],
    ["2026-01-15T14:00:00+01:00", false],
  ])("winter: %s → %s", (iso, expected) => expect(open(BERLIN_NIGHTLY, iso)).toBe(expected));

  it.each([
    ["2026-07-15T01:59:00+02:00", false],
    ["2026-07-15T02:00:00+02:00", true],
    ["2026-07-15T03:00:00+02:00", true],
    ["2026-07-15T05:59:00+02:00", true],
    ["2026-07-15T06:00:00+02:00", false],
    ["2026-07-15T07:00:00+02:00", false],
  ])("summer (CEST, UTC+2): %s → %s", (iso, expected) => expect(open(BERLIN_NIGHTLY, iso)).toBe(expected));

  it("the window follows Berlin's clock, not UTC's: 04:00 UTC is open in winter (05:00 CET), closed in summer (06:00 CEST)", () => {
    expect(open(BERLIN_NIGHTLY, "2026-01-15T03:00:00Z")).toBe(true); // 04:00 CET
    expect(open(BERLIN_NIGHTLY, "2026-07-15T04:00:00Z")).toBe(false); // 06:00 CEST
    expect(open(BERLIN_NIGHTLY, "2026-01-15T04:00:00Z")).toBe(true); // 05:00 CET
  });

  describe("spring forward, Sunday 2026-03-29 (02:00 CET → 03:00 CEST, 02:xx never happens)", () => {
    it("the night before and after are ordinary", () => {
      expect(open(BERLIN_NIGHTLY, "2026-03-28T03:00:00+01:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-03-28T07:00:00+01:00")).toBe(false);
      expect(open(BERLIN_NIGHTLY, "2026-03-30T03:00:00+02:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-03-30T07:00:00+02:00")).toBe(false);
    });

    it("the window still opens, at the jump (as cron runs a skipped hour's jobs), and lasts 240 min", () => {
      expect(open(BERLIN_NIGHTLY, "2026-03-29T01:59:00+01:00")).toBe(false);
      expect(open(BERLIN_NIGHTLY, "2026-03-29T03:00:00+02:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-03-29T05:00:00+02:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-03-29T06:59:00+02:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-03-29T07:00:00+02:00")).toBe(false);
    });

    it("a window that is not in the skipped hour is unaffected", () => {
      const w = { ...BERLIN_NIGHTLY, cron: "30 3 * * *", durationMin: 30 };
      expect(open(w, "2026-03-29T03:00:00+02:00")).toBe(false);
      expect(open(w, "2026-03-29T03:30:00+02:00")).toBe(true);
      expect(open(w, "2026-03-29T04:00:00+02:00")).toBe(false);
    });

    it("a window on another day is not opened by the jump", () => {
      const saturdays = { ...BERLIN_NIGHTLY, cron: "0 2 * * 6" };
      expect(open(saturdays, "2026-03-29T03:00:00+02:00")).toBe(false);
      expect(open(saturdays, "2026-03-28T03:00:00+01:00")).toBe(true);
    });
  });

  describe("fall back, Sunday 2026-10-25 (03:00 CEST → 02:00 CET, 02:xx happens twice)", () => {
    it("open at 03:00 and closed at 07:00 Berlin", () => {
      expect(open(BERLIN_NIGHTLY, "2026-10-25T01:59:00+02:00")).toBe(false);
      expect(open(BERLIN_NIGHTLY, "2026-10-25T02:00:00+02:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-10-25T03:00:00+01:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-10-25T05:59:00+01:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-10-25T06:00:00+01:00")).toBe(false);
      expect(open(BERLIN_NIGHTLY, "2026-10-25T07:00:00+01:00")).toBe(false);
    });

    it("the nights around it are ordinary", () => {
      expect(open(BERLIN_NIGHTLY, "2026-10-24T03:00:00+02:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-10-24T06:00:00+02:00")).toBe(false);
      expect(open(BERLIN_NIGHTLY, "2026-10-26T03:00:00+01:00")).toBe(true);
      expect(open(BERLIN_NIGHTLY, "2026-10-26T07:00:00+01:00")).toBe(false);
    });
  });
});

describe("isWithinWindow", () => {
  it("no window means always open", () => {
    for (const iso of ["2026-01-15T12:00:00Z", "2026-03-29T01:30:00Z", "1970-01-01T00:00:00Z"]) expect(open(null, iso)).toBe(true);
  });

  it("a window crossing midnight belongs to the day it opened", () => {
    const fridayNight: MaintenanceWindow = { cron: "0 22 * * 5", durationMin: 240, timeZone: "America/Los_Angeles" };
    // 2026-01-16 is a Friday.
    expect(open(fridayNight, "2026-01-16T21:59:00-08:00")).toBe(false);
    expect(open(fridayNight, "2026-01-16T22:00:00-08:00")).toBe(true);
    expect(open(fridayNight, "2026-01-17T01:59:00-08:00")).toBe(true);
    expect(open(fridayNight, "2026-01-17T02:00:00-08:00")).toBe(false);
    expect(open(fridayNight, "2026-01-17T22:30:00-08:00")).toBe(false); // Saturday night
  });

  it("seconds within the last minute still count; the end is exclusive", () => {
    const w: MaintenanceWindow = { cron: "15 10 * * *", durationMin: 1, timeZone: "UTC" };
    expect(open(w, "2026-05-05T10:14:59.999Z")).toBe(false);
    expect(open(w, "2026-05-05T10:15:00Z")).toBe(true);
    expect(open(w, "2026-05-05T10:15:59.999Z")).toBe(true);
    expect(open(w, "2026-05-05T10:16:00Z")).toBe(false);
  });

  it("a zero-minute window is never open", () => {
    expect(open({ cron: "* * * * *", durationMin: 0, timeZone: "UTC" }, "2026-05-05T10:15:00Z")).toBe(false);
  });

  it("a frequent cron keeps the window open continuously", () => {
    const w: MaintenanceWindow = { cron: "*/15 * * * *", durationMin: 15, timeZone: "Asia/Kolkata" };
    for (let m = 0; m < 120; m += 7) expect(open(w, new Date(Date.UTC(2026, 4, 5, 0, m)).toISOString())).toBe(true);
  });

  it("uses half-hour zones correctly (Asia/Kolkata, UTC+5:30)", () => {
    const w: MaintenanceWindow = { cron: "0 2 * * *", durationMin: 60, timeZone: "Asia/Kolkata" };
    expect(open(w, "2026-05-04T20:29:00Z")).toBe(false);
    expect(open(w, "2026-05-04T20:30:00Z")).toBe(true); // 02:00 IST
    expect(open(w, "2026-05-04T21:30:00Z")).toBe(false);
  });

  it("an invalid expression throws CronError", () => {
    expect(() => open({ ...BERLIN_NIGHTLY, cron: "0 25 * * *" }, "2026-01-15T03:00:00Z")).toThrow(CronError);
  });
});

describe("cronMatches: day-of-week", () => {
  // 2026-01-11 is a Sunday; the 12th a Monday … the 17th a Saturday.
  const day = (d: number) => `2026-01-${String(d).padStart(2, "0")}T02:00:00Z`;
  const weekdaysMatched = (dow: string) => [11, 12, 13, 14, 15, 16, 17].filter((d) => matches(`0 2 * * ${dow}`, day(d))).map((d) => d - 11);

  it.each([
    ["*", [0, 1, 2, 3, 4, 5, 6]],
    ["1", [1]],
    ["1,3,5", [1, 3, 5]],
    ["1-5", [1, 2, 3, 4, 5]],
    ["*/2", [0, 2, 4, 6]],
    ["1-5/2", [1, 3, 5]],
    ["0/3", [0, 3, 6]],
    ["6,0", [0, 6]],
    ["0", [0]],
    ["7", [0]],
    ["5-7", [0, 5, 6]],
    ["0-7", [0, 1, 2, 3, 4, 5, 6]],
    ["1-7/2", [0, 1, 3, 5]],
    ["2,4-5", [2, 4, 5]],
  ])("day-of-week %s → %j (0 = Sunday)", (dow, expected) => expect(weekdaysMatched(dow)).toEqual(expected));

  it("Sunday is both 0 and 7", () => {
    expect(matches("0 2 * * 0", day(11))).toBe(true);
    expect(matches("0 2 * * 7", day(11))).toBe(true);
    expect(matches("0 2 * * 7", day(12))).toBe(false);
  });

  it("the weekday is the zone's, not UTC's nor the process's", () => {
    // 2026-01-17 23:30 in Los Angeles (Saturday) is Sunday 07:30 UTC.
    const instant = "2026-01-18T07:30:00Z";
    expect(matches("30 23 * * 6", instant, "America/Los_Angeles")).toBe(true);
    expect(matches("30 7 * * 0", instant, "UTC")).toBe(true);
    expect(matches("30 23 * * 6", instant, "UTC")).toBe(false);
  });
});

describe("cronMatches: other fields", () => {
  it("minute and hour lists, ranges and steps", () => {
    expect(matches("*/15 * * * *", "2026-01-15T10:45:00Z")).toBe(true);
    expect(matches("*/15 * * * *", "2026-01-15T10:46:00Z")).toBe(false);
    expect(matches("5,35 1-3 * * *", "2026-01-15T02:35:00Z")).toBe(true);
    expect(matches("5,35 1-3 * * *", "2026-01-15T04:35:00Z")).toBe(false);
    expect(matches("0 22-23/1 * * *", "2026-01-15T23:00:00Z")).toBe(true);
    expect(matches("10-20/5 * * * *", "2026-01-15T23:15:00Z")).toBe(true);
    expect(matches("10-20/5 * * * *", "2026-01-15T23:16:00Z")).toBe(false);
  });

  it("midnight is hour 0", () => {
    expect(matches("0 0 * * *", "2026-01-15T00:00:00Z")).toBe(true);
    expect(matches("0 0 * * *", "2026-01-15T00:00:00+01:00", "Europe/Berlin")).toBe(true);
  });

  it("day of month and month", () => {
    expect(matches("0 2 1 * *", "2026-02-01T02:00:00Z")).toBe(true);
    expect(matches("0 2 1 * *", "2026-02-02T02:00:00Z")).toBe(false);
    expect(matches("0 2 * 6-8 *", "2026-07-04T02:00:00Z")).toBe(true);
    expect(matches("0 2 * 6-8 *", "2026-09-04T02:00:00Z")).toBe(false);
    expect(matches("0 2 31 12 *", "2026-12-31T02:00:00Z")).toBe(true);
  });

  it("day of month and day of week both restricted: either matches (standard cron)", () => {
    // 2026-01-13 is a Tuesday, the 16th a Friday, the 14th a Wednesday.
    expect(matches("0 2 13 * 5", "2026-01-13T02:00:00Z")).toBe(true);
    expect(matches("0 2 13 * 5", "2026-01-16T02:00:00Z")).toBe(true);
    expect(matches("0 2 13 * 5", "2026-01-14T02:00:00Z")).toBe(false);
  });

  it("only one of them restricted: that one decides", () => {
    expect(matches("0 2 13 * *", "2026-01-16T02:00:00Z")).toBe(false);
    expect(matches("0 2 * * 5", "2026-01-13T02:00:00Z")).toBe(false);
  });
});

describe("parseCron", () => {
  it("parses fields into sets", () => {
    const c = parseCron(" 0  2 * * 1-5 ");
    expect([...c.sets[0]!]).toEqual([0]);
    expect([...c.sets[1]!]).toEqual([2]);
    expect(c.sets[2]!.size).toBe(31);
    expect(c.sets[3]!.size).toBe(12);
    expect([...c.sets[4]!]).toEqual([1, 2, 3, 4, 5]);
    expect(c.domAny).toBe(true);
    expect(c.dowAny).toBe(false);
  });

  it.each([
    "",
    "   ",
    "* * * *",
    "* * * * * *",
    "60 * * * *",
    "-1 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * 32 * *",
    "* * * 0 *",
    "* * * 13 *",
    "* * * * 8",
    "5-1 * * * *",
    "*/0 * * * *",
    "1-5/0 * * * *",
    "1,,2 * * * *",
    "1, * * * *",
    "a * * * *",
    "* * * * MON",
    "* * * JAN *",
    "@daily",
    "1.5 * * * *",
    "*/ * * * *",
    "1-2-3 * * * *",
  ])("%j throws CronError", (expression) => {
    expect(() => parseCron(expression)).toThrow(CronError);
  });

  it("CronError is an Error with a message", () => {
    try {
      parseCron("61 * * * *");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(CronError);
      expect((e as Error).message).toBe('"61" is out of range 0–59');
    }
  });
});
