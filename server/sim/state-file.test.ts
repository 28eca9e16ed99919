import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DeviceMemory } from "./device.ts";
import { loadState, saveState, UNCLEAN_SEQ_MARGIN } from "./state-file.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-sim-state-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const memory = (seq: number): DeviceMemory => ({ seq, version: 7, firmware: "4.1.5", status: "idle", power: "ACTIVE" });

describe("simulator state file", () => {
  it("is empty when there is no file yet", () => {
    expect(loadState(path.join(dir, "missing.json")).size).toBe(0);
  });

  it("restores exactly what a clean stop saved, and keeps devices this run did not simulate", async () => {
    const file = path.join(dir, "nested", "clean.json");
    await saveState(file, [{ id: "a", memory: memory(10) }], true, new Map([["old", memory(3)]]));
    expect(loadState(file)).toEqual(new Map([["old", memory(3)], ["a", memory(10)]]));
  });

  it("moves seq ahead after an unclean stop, since sends after the last save are unknown", async () => {
    const file = path.join(dir, "unclean.json");
    await saveState(file, [{ id: "a", memory: memory(10) }, { id: "fresh", memory: memory(0) }], false, new Map());
    const loaded = loadState(file);
    expect(loaded.get("a")?.seq).toBe(10 + UNCLEAN_SEQ_MARGIN);
    expect(loaded.get("fresh")?.seq).toBe(0); // never sent anything: nothing to skip
  });

  it("drops malformed entries and refuses a file that is not a state file", () => {
    const file = path.join(dir, "odd.json");
    fs.writeFileSync(file, JSON.stringify({ clean: true, devices: { ok: memory(1), bad: { seq: "x" }, worse: { ...memory(1), power: "MAYBE" } } }));
    expect([...loadState(file).keys()]).toEqual(["ok"]);
    fs.writeFileSync(file, "[1, 2]");
    expect(() => loadState(file)).toThrow(/not a simulator state file/);
  });
});
