// Reading a device's firmware report from its shadow, and telling a report
// made after the notification from a status left over from before it. The
// controller reads shadows, not messages, and the metadata stamps are whole
// server seconds (PROTOCOL.md) while a notification time is fractional.
import { describe, expect, it } from "vitest";
import { isNewReport, readFirmwareReport, type FirmwareReport } from "./report-rules.ts";

const T = 1_721_305_247; // a whole second
const stamped = (at: unknown) => ({ reported: { firmware: { version: { timestamp: at }, status: { timestamp: at } } } });

describe("readFirmwareReport", () => {
  it("reads status, version, error code and the status's server stamp", () => {
    const reported = { firmware: { version: "4.2.1", status: "completed", checksum: "sha256:ab", errorCode: null }, power: "ON" };
    expect(readFirmwareReport(reported, stamped(T))).toEqual({ status: "completed", version: "4.2.1", errorCode: null, at: T });
    expect(readFirmwareReport({ firmware: { status: "failed", errorCode: "E_CHECKSUM" } }, stamped(T))).toEqual({ status: "failed", version: null, errorCode: "E_CHECKSUM", at: T });
  });

  it("turns a numeric error code into text and ignores an empty one", () => {
    expect(readFirmwareReport({ firmware: { status: "failed", errorCode: 42 } }, stamped(T))?.errorCode).toBe("42");
    expect(readFirmwareReport({ firmware: { status: "failed", errorCode: "" } }, stamped(T))?.errorCode).toBeNull();
  });

  it("takes only a non-empty string as version", () => {
    expect(readFirmwareReport({ firmware: { status: "idle", version: "" } }, stamped(T))?.version).toBeNull();
    expect(readFirmwareReport({ firmware: { status: "idle", version: 4 } }, stamped(T))?.version).toBeNull();
  });

  it("stamps 0 when the status has no server time, which is before any notification", () => {
    expect(readFirmwareReport({ firmware: { status: "downloading" } }, {})?.at).toBe(0);
    expect(readFirmwareReport({ firmware: { status: "downloading" } }, null)?.at).toBe(0);
    expect(readFirmwareReport({ firmware: { status: "downloading" } }, stamped("1721305247"))?.at).toBe(0);
    // The version's stamp is not the status's.
    expect(readFirmwareReport({ firmware: { status: "downloading" } }, { reported: { firmware: { version: { timestamp: T } } } })?.at).toBe(0);
  });

  it.each([
    ["nothing", null],
    ["not an object", "completed"],
    ["no firmware", { power: "ON" }],
    ["firmware not an object", { firmware: "4.2.1" }],
    ["firmware a list", { firmware: [{ status: "completed" }] }],
    ["no status", { firmware: { version: "4.2.1" } }],
    ["an empty status", { firmware: { version: "4.2.1", status: "" } }],
    ["a status that is not text", { firmware: { status: 3 } }],
  ])("is null for %s", (_what, reported) => {
    expect(readFirmwareReport(reported, stamped(T))).toBeNull();
  });
});

describe("isNewReport", () => {
  const report = (at: number, status = "downloading", version: string | null = "4.1.0"): FirmwareReport => ({ status, version, errorCode: null, at });
  const lastSeen = { status: "downloading", version: "4.1.0" };
  const notifiedAt = T + 0.6;

  it("counts a report stamped in a later second than the notification, even when identical", () => {
    expect(isNewReport(report(T + 1), notifiedAt, lastSeen)).toBe(true);
    expect(isNewReport(report(T + 300, "completed", "4.2.1"), notifiedAt, lastSeen)).toBe(true);
  });

  it("ignores a report stamped before the notification's second, even when it differs", () => {
    expect(isNewReport(report(T - 1, "completed", "4.2.1"), notifiedAt, lastSeen)).toBe(false);
    expect(isNewReport(report(0), notifiedAt, { status: null, version: null })).toBe(false);
  });

  it("in the notification's own second, counts it only when it differs from what was last seen", () => {
    expect(isNewReport(report(T), notifiedAt, lastSeen)).toBe(false);
    expect(isNewReport(report(T, "verifying"), notifiedAt, lastSeen)).toBe(true);
    expect(isNewReport(report(T, "downloading", "4.2.1"), notifiedAt, lastSeen)).toBe(true);
    expect(isNewReport(report(T, "downloading", null), notifiedAt, lastSeen)).toBe(true);
    // Nothing seen at the notification (a device that never reported firmware): any report is news.
    expect(isNewReport(report(T), notifiedAt, { status: null, version: null })).toBe(true);
  });

  it("takes a notification at a whole second as that second", () => {
    expect(isNewReport(report(T), T, lastSeen)).toBe(false);
    expect(isNewReport(report(T, "installing"), T, lastSeen)).toBe(true);
    expect(isNewReport(report(T - 1, "installing"), T, lastSeen)).toBe(false);
  });
});
