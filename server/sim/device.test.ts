import { describe, expect, it } from "vitest";
import { nextPower, type Power } from "./messages.ts";
import { makeDevice, POWER_NEXT, seeded, transitionError } from "./test-harness.ts";

describe("simulated device: connect and sync", () => {
  it("announces itself, then asks for a sync with its next seq and known version", () => {
    const { device, take } = makeDevice({ memory: { seq: 41, version: 7 } });
    device.connected(1000);
    expect(take()).toEqual([
      { suffix: "status", payload: { online: true }, retain: true },
      { suffix: "sync/request", retain: false, payload: expect.objectContaining({ seq: 42, currentVersion: 7, timezone: "Europe/Dublin" }) },
    ]);
    expect(device.phase).toBe("syncing");
  });

  it("adopts a sync's toVersion and the reported state, and completes it with a new seq", () => {
    const { device, receive, take, memory } = makeDevice({ memory: { seq: 41, version: 7 } });
    device.connected(0);
    take();
    const reported = { power: "ACTIVE", firmware: { version: "2.0.0", status: "completed" } };
    receive("sync", { type: "sync", mode: "full", fromVersion: null, toVersion: 3, state: { desired: {}, reported, delta: {} } }, 10);
    expect(memory).toMatchObject({ version: 3, power: "ACTIVE", firmware: "2.0.0", status: "completed" });
    expect(take()).toEqual([{ suffix: "sync/complete", payload: { seq: 43, version: 3 }, retain: false }]);
    expect(device.phase).toBe("ready");
  });

  it("reads the whole document once per boot after a delta or none sync", () => {
    const { device, receive, take } = makeDevice();
    device.connected(0);
    receive("sync", { type: "sync", mode: "none", fromVersion: 5, toVersion: 5, state: {} }, 1);
    expect(take().map((m) => m.suffix)).toEqual(["status", "sync/request", "sync/complete", "shadow/get"]);
    device.disconnected();
    device.connected(2);
    receive("sync", { type: "sync", mode: "none", fromVersion: 5, toVersion: 5, state: {} }, 3);
    expect(take().map((m) => m.suffix)).toEqual(["status", "sync/request", "sync/complete"]);
  });
});

describe("simulated device: updates", () => {
  it("sends version = known + 1 with a fresh seq, and adopts the accepted version", () => {
    const { device, receive, online, take, updates, memory } = makeDevice({ memory: { seq: 10, version: 5 } });
    online();
    take();
    device.tick(1000);
    const [first] = updates();
    expect(first).toMatchObject({ seq: 13, version: 6, clientToken: "s13" }); // 11: sync/request, 12: sync/complete
    expect(first!.state.reported).toHaveProperty("temperature");
    expect(device.phase).toBe("awaitingResponse");
    receive("shadow/update/accepted", { version: 6, clientToken: "s13", duplicate: false }, 1100);
    expect(memory.version).toBe(6);
    take();
    device.tick(3000);
    expect(updates()[0]).toMatchObject({ seq: 14, version: 7 });
  });

  it("on stale_version adopts currentVersion and waits for the platform's sync before going on", () => {
    const { device, receive, online, take, updates, memory } = makeDevice();
    online();
    take();
    device.tick(1000);
    receive("shadow/update/rejected", { code: "stale_version", currentVersion: 9, lastSeq: 13, clientToken: "s13" }, 1100);
    expect(memory.version).toBe(9);
    expect(device.phase).toBe("awaitingSync");
    device.tick(2000);
    take();
    expect(updates()).toEqual([]);
    receive("sync", { type: "sync", mode: "delta", fromVersion: 5, toVersion: 9, state: { desired: {}, reported: {} } }, 2100);
    expect(take()[0]).toEqual({ suffix: "sync/complete", payload: { seq: 14, version: 9 }, retain: false });
    device.tick(5000);
    expect(updates()[0]).toMatchObject({ seq: 15, version: 10 });
  });

  it("asks for a sync itself when the platform's does not come", () => {
    const { device, receive, online, take } = makeDevice();
    online();
    device.tick(1000);
    receive("shadow/update/rejected", { code: "version_gap", currentVersion: 2, lastSeq: 13, clientToken: "s13" }, 1100);
    take();
    device.tick(1100 + 3000);
    expect(take()).toEqual([{ suffix: "sync/request", retain: false, payload: expect.objectContaining({ seq: 14, currentVersion: 2 }) }]);
  });

  it("continues past the platform's lastSeq after out_of_order (its seq was lost)", () => {
    const { device, receive, online, memory } = makeDevice({ memory: { seq: 0 } });
    online();
    device.tick(1000);
    receive("shadow/update/rejected", { code: "out_of_order", currentVersion: 5, lastSeq: 5000, clientToken: "s3" }, 1100);
    expect(memory.seq).toBe(5000);
  });

  it("resets the platform's window with a sync/request after seq_window_exceeded", () => {
    const { device, receive, online, take } = makeDevice();
    online();
    device.tick(1000);
    take();
    receive("shadow/update/rejected", { code: "seq_window_exceeded", currentVersion: 5, lastSeq: 3, clientToken: "s13" }, 1100);
    expect(take()).toEqual([{ suffix: "sync/request", retain: false, payload: expect.objectContaining({ seq: 14 }) }]);
  });

  it("believes the platform's `from` after invalid_transition", () => {
    const { device, receive, online, memory } = makeDevice({ memory: { power: "ON" } });
    online();
    device.tick(1000);
    receive("shadow/update/rejected", { code: "invalid_transition", attribute: "power", from: "OFF", to: "ACTIVE", clientToken: "s13" }, 1100);
    expect(memory.power).toBe("OFF");
    expect(device.phase).toBe("ready");
  });

  it("with nobody answering: re-sends the same update, then resyncs, then carries on", () => {
    const { device, online, take } = makeDevice();
    online();
    take();
    device.tick(1000);
    const [update] = take();
    device.tick(6000);
    expect(take()).toEqual([update]); // identical: the platform treats it as a replay
    device.tick(11_000);
    expect(take().map((m) => m.suffix)).toEqual(["sync/request"]);
    device.tick(16_000);
    expect(device.phase).toBe("ready");
    device.tick(16_050);
    expect(take()[0]).toMatchObject({ suffix: "shadow/update", payload: { seq: 15, version: 6 } });
  });
});

describe("simulated device: faults", () => {
  it("--duplicates re-sends the identical payload", () => {
    const { device, online, take } = makeDevice({ faults: { duplicates: 1 } });
    online();
    take();
    device.tick(1000);
    const [a, b] = take();
    expect(a).toEqual(b);
  });

  it("--reorder sends seq n+1 (version v+2) before seq n (version v+1)", () => {
    const { device, online, take, updates } = makeDevice({ faults: { reorder: 1 } });
    online();
    take();
    device.tick(1000);
    expect(updates().map((u) => [u.seq, u.version])).toEqual([
      [14, 7],
      [13, 6],
    ]);
  });

  it("--seq-jump skips more than 100 sequence numbers", () => {
    const { device, online, take, updates } = makeDevice({ faults: { seqJump: 1 } });
    online();
    take();
    device.tick(1000);
    expect(updates()[0]!.seq - 12).toBeGreaterThan(100);
  });

  it("--offline drops the connection after an update and expects to come back", () => {
    const { device, online, drops } = makeDevice({ faults: { offline: 1, offlineForSec: 10 } });
    online();
    device.tick(1000);
    expect(drops).toEqual([{ kind: "disconnect", reason: "offline", downMs: expect.any(Number) }]);
    expect(drops[0]!.downMs).toBeGreaterThanOrEqual(5000);
    expect(device.phase).toBe("offline");
  });
});

describe("power transitions", () => {
  it("nextPower only makes transitions PROTOCOL.md allows", () => {
    const random = seeded(7);
    let power: Power = "ON";
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const next = nextPower(power, random());
      if (next !== power) {
        expect(POWER_NEXT[power]).toContain(next);
        seen.add(`${power}>${next}`);
      }
      power = next;
    }
    expect(seen).toEqual(new Set(["ON>ACTIVE", "ACTIVE>ON", "ON>OFF", "ACTIVE>OFF", "OFF>ON"]));
  });

  it("the device's reported power changes are valid against what the platform holds", () => {
    const { device, receive, online, take, updates, memory } = makeDevice({ random: seeded(3) });
    online();
    let held = { power: memory.power as string };
    for (let t = 1000; t < 200_000; t += 250) {
      device.tick(t);
      for (const u of updates()) {
        expect(transitionError(held, u.state.reported)).toBeNull();
        if (typeof u.state.reported.power === "string") held = { power: u.state.reported.power };
        receive("shadow/update/accepted", { version: u.version, clientToken: u.clientToken }, t);
      }
      take();
    }
  });
});
