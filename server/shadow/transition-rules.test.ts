// PROTOCOL.md, "shadow/update" step 6: the state machines of
// `reported.firmware.status` and `reported.power`. The expected tables below
// are written from the protocol text, independently of transition-rules.ts,
// and every (from, to) pair is checked.
import { describe, expect, it } from "vitest";
import { FIRMWARE_STATUSES, checkTransitions } from "./transition-rules.ts";

const IN_PROGRESS = ["downloading", "verifying", "installing"];
const RESTARTABLE = ["completed", "failed", "rolled_back", "idle"];

/** Valid per PROTOCOL.md: the chain, failed from any in-progress status, restarts, and repeats. */
function firmwareAllowed(from: string, to: string): boolean {
  if (from === to) return true; // progress updates repeat the status
  const chain: Record<string, string[]> = {
    idle: ["downloading"],
    downloading: ["verifying"],
    verifying: ["installing"],
    installing: ["completed", "failed", "rolled_back"],
  };
  if (chain[from]?.includes(to)) return true;
  if (IN_PROGRESS.includes(from) && to === "failed") return true;
  if (RESTARTABLE.includes(from) && (to === "downloading" || to === "idle")) return true;
  return false;
}

const POWER = ["OFF", "ON", "ACTIVE"];
/** `OFF ↔ ON`, `ON ↔ ACTIVE`, `ON/ACTIVE → OFF`; so `OFF → ACTIVE` is invalid. */
const POWER_ALLOWED = new Set(["OFF>ON", "ON>OFF", "ON>ACTIVE", "ACTIVE>ON", "ACTIVE>OFF", "OFF>OFF", "ON>ON", "ACTIVE>ACTIVE"]);

const fw = (status: string) => ({ firmware: { version: "4.1.5", status } });

describe("firmware.status transitions", () => {
  it("knows exactly the seven statuses of the protocol", () => {
    expect([...FIRMWARE_STATUSES].sort()).toEqual(["completed", "downloading", "failed", "idle", "installing", "rolled_back", "verifying"]);
  });

  const pairs = FIRMWARE_STATUSES.flatMap((from) => FIRMWARE_STATUSES.map((to) => [from, to, firmwareAllowed(from, to)] as const));

  it.each(pairs.filter(([, , ok]) => ok))("%s → %s is allowed", (from, to) => {
    expect(checkTransitions(fw(from), { firmware: { status: to } })).toBeNull();
  });

  it.each(pairs.filter(([, , ok]) => !ok))("%s → %s is an invalid_transition with attribute/from/to", (from, to) => {
    expect(checkTransitions(fw(from), { firmware: { status: to } })).toEqual({ attribute: "firmware.status", from, to });
  });

  it("spot checks of the table itself (guards the test's own reading of PROTOCOL.md)", () => {
    // the happy path
    expect(firmwareAllowed("idle", "downloading")).toBe(true);
    expect(firmwareAllowed("downloading", "verifying")).toBe(true);
    expect(firmwareAllowed("verifying", "installing")).toBe(true);
    expect(firmwareAllowed("installing", "completed")).toBe(true);
    expect(firmwareAllowed("installing", "rolled_back")).toBe(true);
    // failed from each in-progress status
    for (const s of IN_PROGRESS) expect(firmwareAllowed(s, "failed")).toBe(true);
    // restart or return to idle from each terminal status and idle
    for (const s of RESTARTABLE) {
      expect(firmwareAllowed(s, "downloading")).toBe(true);
      expect(firmwareAllowed(s, "idle")).toBe(true);
    }
    // skipping, going back, and leaving a terminal status other than by restart
    expect(firmwareAllowed("idle", "installing")).toBe(false);
    expect(firmwareAllowed("downloading", "installing")).toBe(false);
    expect(firmwareAllowed("downloading", "idle")).toBe(false);
    expect(firmwareAllowed("verifying", "downloading")).toBe(false);
    expect(firmwareAllowed("verifying", "rolled_back")).toBe(false);
    expect(firmwareAllowed("completed", "failed")).toBe(false);
    expect(firmwareAllowed("failed", "completed")).toBe(false);
    expect(firmwareAllowed("rolled_back", "installing")).toBe(false);
    expect(firmwareAllowed("idle", "failed")).toBe(false);
    expect(pairs.filter(([, , ok]) => ok)).toHaveLength(7 /* repeats */ + 4 /* chain */ + 2 /* installing → failed/rolled_back */ + 2 /* downloading/verifying → failed */ + 6 /* completed/failed/rolled_back → downloading/idle */);
  });

  it("accepts any known status as the first report of the attribute", () => {
    for (const to of FIRMWARE_STATUSES) {
      expect(checkTransitions({}, { firmware: { status: to } })).toBeNull();
      expect(checkTransitions({ firmware: { version: "1.0.0" } }, { firmware: { status: to } })).toBeNull();
    }
  });

  it("rejects a status that is not one of the protocol's", () => {
    expect(checkTransitions(fw("idle"), { firmware: { status: "rebooting" } })).toEqual({ attribute: "firmware.status", from: "idle", to: "rebooting" });
    expect(checkTransitions({}, { firmware: { status: "COMPLETED" } })).toEqual({ attribute: "firmware.status", from: null, to: "COMPLETED" });
    expect(checkTransitions(fw("idle"), { firmware: { status: 3 } })).toEqual({ attribute: "firmware.status", from: "idle", to: "3" });
  });

  it("does not check an update that leaves the status out, or removes it", () => {
    expect(checkTransitions(fw("installing"), { firmware: { version: "4.2.1" } })).toBeNull();
    expect(checkTransitions(fw("installing"), { firmware: { status: null } })).toBeNull();
    expect(checkTransitions(fw("installing"), { firmware: null })).toBeNull();
    expect(checkTransitions(fw("installing"), { power: "ON" })).toBeNull();
    expect(checkTransitions(fw("installing"), {})).toBeNull();
  });
});

describe("power transitions", () => {
  const pairs = POWER.flatMap((from) => POWER.map((to) => [from, to, POWER_ALLOWED.has(`${from}>${to}`)] as const));

  it.each(pairs.filter(([, , ok]) => ok))("%s → %s is allowed", (from, to) => {
    expect(checkTransitions({ power: from }, { power: to })).toBeNull();
  });

  it.each(pairs.filter(([, , ok]) => !ok))("%s → %s is an invalid_transition", (from, to) => {
    expect(checkTransitions({ power: from }, { power: to })).toEqual({ attribute: "power", from, to });
  });

  it("OFF → ACTIVE is the one invalid move between the three states", () => {
    expect(pairs.filter(([, , ok]) => !ok).map(([f, t]) => `${f}>${t}`)).toEqual(["OFF>ACTIVE"]);
  });

  it("accepts any known value as the first report, rejects unknown values", () => {
    for (const to of POWER) expect(checkTransitions({}, { power: to })).toBeNull();
    expect(checkTransitions({ power: "ON" }, { power: "STANDBY" })).toEqual({ attribute: "power", from: "ON", to: "STANDBY" });
    expect(checkTransitions({ power: "ON" }, { power: "on" })).toEqual({ attribute: "power", from: "ON", to: "on" });
    expect(checkTransitions({ power: "ON" }, { power: true })).toEqual({ attribute: "power", from: "ON", to: "true" });
  });

  it("allows removing power (null)", () => {
    expect(checkTransitions({ power: "OFF" }, { power: null })).toBeNull();
  });
});

describe("both attributes in one update", () => {
  it("reports the first violation, firmware before power", () => {
    expect(checkTransitions({ power: "OFF", ...fw("idle") }, { power: "ACTIVE", firmware: { status: "completed" } })).toMatchObject({ attribute: "firmware.status" });
    expect(checkTransitions({ power: "OFF", ...fw("idle") }, { power: "ACTIVE", firmware: { status: "downloading" } })).toEqual({ attribute: "power", from: "OFF", to: "ACTIVE" });
    expect(checkTransitions({ power: "OFF", ...fw("idle") }, { power: "ON", firmware: { status: "downloading" } })).toBeNull();
  });

  it("ignores attributes it has no state machine for", () => {
    expect(checkTransitions({ mode: "eco" }, { mode: "turbo", temperature: 41 })).toBeNull();
  });
});
