// The wave planner: audience (type, region, hardware, tags, version range),
// skips with reasons, waves ordered by a stable hash of (seed, device id), and
// the wave sizes of each strategy (canary% → staged% → rest, N equal waves,
// explicit sizes).
import { describe, expect, it } from "vitest";
import {
  DEFAULT_STRATEGY,
  cohortPosition,
  isTargeted,
  planRollout,
  skipReason,
  waveSizes,
  type Plan,
  type PlanDevice,
  type PlanFirmware,
  type Strategy,
} from "./plan-rules.ts";

const FIRMWARE: PlanFirmware = { version: "4.2.0", deviceType: "sensor", compatibleHardware: ["hw-a", "hw-b"], minVersion: "4.0.0" };

function device(id: string, over: Partial<PlanDevice> = {}): PlanDevice {
  return { id, type: "sensor", hardwareVersion: "hw-a", region: "eu-central", tags: [], firmwareVersion: "4.1.5", ...over };
}

function fleet(n: number, prefix = "dev"): PlanDevice[] {
  return Array.from({ length: n }, (_, i) => device(`${prefix}-${String(i).padStart(5, "0")}`));
}

const waveOf = (plan: Plan) => new Map(plan.waves.flatMap((w) => w.deviceIds.map((id) => [id, w.index] as const)));
const order = (plan: Plan) => plan.waves.flatMap((w) => w.deviceIds);
const sizes = (plan: Plan) => plan.waves.map((w) => w.deviceIds.length);
const equal = (waves: number): Strategy => ({ kind: "equal", waves });

describe("cohortPosition", () => {
  it("is a number in [0, 1) that depends only on seed and device id", () => {
    for (const id of ["a", "dev-1", "dev-2", "ünïcødé", ""]) {
      const p = cohortPosition("seed", id);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(1);
      expect(cohortPosition("seed", id)).toBe(p);
    }
    expect(cohortPosition("seed", "dev-1")).not.toBe(cohortPosition("seed", "dev-2"));
    expect(cohortPosition("seed-a", "dev-1")).not.toBe(cohortPosition("seed-b", "dev-1"));
  });

  it("separates seed and id, so (\"ab\", \"c\") and (\"a\", \"bc\") differ", () => {
    expect(cohortPosition("ab", "c")).not.toBe(cohortPosition("a", "bc"));
  });

  it("spreads devices roughly uniformly", () => {
    const buckets = Array<number>(10).fill(0);
    for (const d of fleet(10_000)) buckets[Math.floor(cohortPosition("uniform", d.id) * 10)]!++;
    for (const b of buckets) expect(b).toBeGreaterThan(850); // expected 1000, sd ≈ 30
  });
});

describe("planRollout determinism", () => {
  const devices = fleet(1_500);

  it("same seed → the same waves, whatever order the devices come in", () => {
    const a = planRollout("rollout-42", devices, FIRMWARE, {}, equal(15));
    const b = planRollout("rollout-42", devices, FIRMWARE, {}, equal(15));
    const key = new Map(devices.map((d) => [d.id, cohortPosition("shuffle", d.id)]));
    const shuffled = [...devices].sort((x, y) => key.get(x.id)! - key.get(y.id)!);
    expect(shuffled.map((d) => d.id)).not.toEqual(devices.map((d) => d.id));
    const c = planRollout("rollout-42", shuffled, FIRMWARE, {}, equal(15));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it("orders devices by their cohort position, not by id or input order", () => {
    const plan = planRollout("rollout-42", devices, FIRMWARE, {}, equal(15));
    const positions = order(plan).map((id) => cohortPosition("rollout-42", id));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(order(plan)).not.toEqual(devices.map((d) => d.id));
  });

  it("another seed → a different order", () => {
    const a = planRollout("rollout-42", devices, FIRMWARE, {}, equal(15));
    const b = planRollout("rollout-43", devices, FIRMWARE, {}, equal(15));
    expect(sizes(b)).toEqual(sizes(a));
    expect(order(b)).not.toEqual(order(a));
    // Not just a rotation: the first wave is mostly other devices.
    const first = new Set(a.waves[0]!.deviceIds);
    expect(b.waves[0]!.deviceIds.filter((id) => first.has(id)).length).toBeLessThan(30);
  });

  it("adding devices keeps the existing devices' order and moves none by more than one wave", () => {
    const before = planRollout("rollout-42", devices, FIRMWARE, {}, equal(15));
    const after = planRollout("rollout-42", [...devices, ...fleet(20, "new")], FIRMWARE, {}, equal(15));
    expect(order(after).filter((id) => !id.startsWith("new-"))).toEqual(order(before));
    const was = waveOf(before);
    const now = waveOf(after);
    let moved = 0;
    for (const d of devices) {
      const delta = now.get(d.id)! - was.get(d.id)!;
      expect(Math.abs(delta)).toBeLessThanOrEqual(1);
      if (delta !== 0) moved++;
    }
    // Only devices next to a wave boundary change wave: at most ~20 per boundary.
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(15 * 21);
  });

  it("a re-plan with the same fleet but a removed device shifts nobody by more than one wave", () => {
    const before = planRollout("rollout-42", devices, FIRMWARE, {}, DEFAULT_STRATEGY);
    const after = planRollout("rollout-42", devices.slice(1), FIRMWARE, {}, DEFAULT_STRATEGY);
    const was = waveOf(before);
    for (const [id, wave] of waveOf(after)) expect(Math.abs(wave - was.get(id)!)).toBeLessThanOrEqual(1);
    expect(order(after)).toEqual(order(before).filter((id) => id !== devices[0]!.id));
  });

  it("waves are consecutive slices of the order, indexed from 0", () => {
    const plan = planRollout("s", devices, FIRMWARE, {}, DEFAULT_STRATEGY);
    expect(plan.waves.map((w) => w.index)).toEqual([0, 1, 2]);
    for (let i = 1; i < plan.waves.length; i++) {
      const lastOfPrev = cohortPosition("s", plan.waves[i - 1]!.deviceIds.at(-1)!);
      const firstOfThis = cohortPosition("s", plan.waves[i]!.deviceIds[0]!);
      expect(lastOfPrev).toBeLessThan(firstOfThis);
    }
  });
});

describe("wave sizes", () => {
  it("the issue's fleet: 1,500 devices in 15 waves of 100", () => {
    expect(waveSizes(1_500, equal(15))).toEqual(Array(15).fill(100));
    expect(sizes(planRollout("s", fleet(1_500), FIRMWARE, {}, equal(15)))).toEqual(Array(15).fill(100));
  });

  it("the issue's fleet, canary 1% → 10% → rest (each share of the eligible devices)", () => {
    expect(DEFAULT_STRATEGY).toEqual({ kind: "canary", canaryPct: 1, stagedPct: 10 });
    expect(waveSizes(1_500, DEFAULT_STRATEGY)).toEqual([15, 150, 1_335]);
    expect(waveSizes(100, DEFAULT_STRATEGY)).toEqual([1, 10, 89]);
  });

  it.each([
    [1, [1]],
    [2, [1, 1]],
    [3, [1, 1, 1]],
    [10, [1, 1, 8]],
    [49, [1, 5, 43]],
    [150, [2, 15, 133]],
  ])("canary 1%%/10%% of %i devices → %j (every wave at least one device)", (n, expected) => {
    expect(waveSizes(n, DEFAULT_STRATEGY)).toEqual(expected);
    expect(sizes(planRollout("s", fleet(n), FIRMWARE, {}, DEFAULT_STRATEGY))).toEqual(expected);
  });

  it("canary with no staged wave, and shares that add up past 100%", () => {
    expect(waveSizes(200, { kind: "canary", canaryPct: 5, stagedPct: 0 })).toEqual([10, 190]);
    expect(waveSizes(10, { kind: "canary", canaryPct: 50, stagedPct: 60 })).toEqual([5, 5]);
    expect(waveSizes(10, { kind: "canary", canaryPct: 100, stagedPct: 10 })).toEqual([10]);
    expect(waveSizes(10, { kind: "canary", canaryPct: 0, stagedPct: 10 })).toEqual([1, 1, 8]);
  });

  it("equal waves spread the remainder and never exceed n", () => {
    expect(waveSizes(10, equal(3))).toEqual([3, 3, 4]);
    expect(waveSizes(7, equal(7))).toEqual(Array(7).fill(1));
    expect(waveSizes(3, equal(15))).toEqual([1, 1, 1]);
    expect(waveSizes(1, equal(15))).toEqual([1]);
    expect(waveSizes(5, equal(0))).toEqual([5]);
    expect(waveSizes(5, equal(-2))).toEqual([5]);
  });

  it("equal waves: sizes sum to n and differ by at most one", () => {
    for (let n = 1; n <= 60; n++) {
      for (let w = 1; w <= 16; w++) {
        const s = waveSizes(n, equal(w));
        expect(s.reduce((a, b) => a + b, 0)).toBe(n);
        expect(s.length).toBe(Math.min(w, n));
        expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("explicit sizes that do not cover n get a last wave with the rest", () => {
    expect(waveSizes(1_500, { kind: "explicit", sizes: [10, 100] })).toEqual([10, 100, 1_390]);
    expect(waveSizes(10, { kind: "explicit", sizes: [2, 3] })).toEqual([2, 3, 5]);
  });

  it("explicit sizes that exceed n are cut, and waves left empty are dropped", () => {
    expect(waveSizes(7, { kind: "explicit", sizes: [5, 5, 5] })).toEqual([5, 2]);
    expect(waveSizes(3, { kind: "explicit", sizes: [10] })).toEqual([3]);
    expect(waveSizes(10, { kind: "explicit", sizes: [4, 6] })).toEqual([4, 6]);
  });

  it("explicit sizes: zero, negative and fractional sizes", () => {
    expect(waveSizes(10, { kind: "explicit", sizes: [0, 3] })).toEqual([3, 7]);
    expect(waveSizes(10, { kind: "explicit", sizes: [-4, 3] })).toEqual([3, 7]);
    expect(waveSizes(10, { kind: "explicit", sizes: [2.9, 3.2] })).toEqual([2, 3, 5]);
    expect(waveSizes(10, { kind: "explicit", sizes: [] })).toEqual([10]);
  });

  it("no eligible device → no wave, for every strategy", () => {
    for (const s of [DEFAULT_STRATEGY, equal(15), { kind: "explicit", sizes: [1, 2] } as Strategy]) {
      expect(waveSizes(0, s)).toEqual([]);
      expect(planRollout("s", [], FIRMWARE, {}, s)).toEqual({ waves: [], skipped: [] });
    }
  });

  it("the wave indices stay consecutive when empty waves are dropped", () => {
    const plan = planRollout("s", fleet(3), FIRMWARE, {}, { kind: "explicit", sizes: [0, 1, 0, 2] });
    expect(plan.waves.map((w) => [w.index, w.deviceIds.length])).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });
});

describe("skips", () => {
  const devices = [
    device("ok-1"),
    device("revoked", { revoked: true }),
    device("old-hw", { hardwareVersion: "hw-z" }),
    device("too-old", { firmwareVersion: "3.9.9" }),
    device("too-old-pre", { firmwareVersion: "4.0.0-rc.1" }),
    device("on-target", { firmwareVersion: "4.2.0" }),
    device("ok-2", { hardwareVersion: "hw-b", firmwareVersion: "4.0.0" }),
    device("other-type", { type: "gateway", revoked: true }),
  ];

  it("lists skipped devices with a reason and detail, sorted by id, and keeps them out of the waves", () => {
    const plan = planRollout("s", devices, FIRMWARE, {}, equal(2));
    expect(plan.skipped).toEqual([
      { deviceId: "old-hw", reason: "incompatible_hardware", detail: "hardware hw-z is not in hw-a, hw-b" },
      { deviceId: "on-target", reason: "already_on_target", detail: "already runs 4.2.0" },
      { deviceId: "revoked", reason: "revoked", detail: "the device is revoked" },
      { deviceId: "too-old", reason: "below_minimum_version", detail: "runs 3.9.9, needs at least 4.0.0" },
      { deviceId: "too-old-pre", reason: "below_minimum_version", detail: "runs 4.0.0-rc.1, needs at least 4.0.0" },
    ]);
    expect(order(plan).sort()).toEqual(["ok-1", "ok-2"]);
  });

  it("a device that is not targeted is neither planned nor listed as skipped", () => {
    const plan = planRollout("s", devices, FIRMWARE, {}, equal(2));
    const all = [...order(plan), ...plan.skipped.map((s) => s.deviceId)];
    expect(all).not.toContain("other-type");
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(devices.length - 1);
  });

  it("checks in this order: revoked, hardware, already on target, minimum version", () => {
    expect(skipReason(device("x", { revoked: true, hardwareVersion: "hw-z", firmwareVersion: "1.0.0" }), FIRMWARE)?.reason).toBe("revoked");
    expect(skipReason(device("x", { hardwareVersion: "hw-z", firmwareVersion: "4.2.0" }), FIRMWARE)?.reason).toBe("incompatible_hardware");
    expect(skipReason(device("x", { firmwareVersion: "4.2.0" }), { ...FIRMWARE, minVersion: "5.0.0" })?.reason).toBe("already_on_target");
  });

  it("no compatible-hardware list means any hardware; no minimum means any version", () => {
    const open: PlanFirmware = { ...FIRMWARE, compatibleHardware: [], minVersion: null };
    expect(skipReason(device("x", { hardwareVersion: "anything", firmwareVersion: "0.0.1" }), open)).toBeNull();
  });

  it("exactly the minimum version is fine; a version that is not semver is below any minimum", () => {
    expect(skipReason(device("x", { firmwareVersion: "4.0.0" }), FIRMWARE)).toBeNull();
    expect(skipReason(device("x", { firmwareVersion: "4.0.0+build.7" }), FIRMWARE)).toBeNull();
    expect(skipReason(device("x", { firmwareVersion: "unknown" }), FIRMWARE)?.reason).toBe("below_minimum_version");
  });

  it("revoked: false is not a skip", () => {
    expect(skipReason(device("x", { revoked: false }), FIRMWARE)).toBeNull();
  });

  it("skipped devices do not count toward wave sizes", () => {
    const many = [...fleet(100), ...fleet(50, "rev").map((d) => ({ ...d, revoked: true }))];
    const plan = planRollout("s", many, FIRMWARE, {}, DEFAULT_STRATEGY);
    expect(sizes(plan)).toEqual([1, 10, 89]);
    expect(plan.skipped).toHaveLength(50);
  });
});

describe("targeting", () => {
  it("only devices of the firmware's type", () => {
    expect(isTargeted(device("x"), FIRMWARE, {})).toBe(true);
    expect(isTargeted(device("x", { type: "gateway" }), FIRMWARE, {})).toBe(false);
  });

  it("by region and by hardware (any of the listed); an empty list means no filter", () => {
    const t = { regions: ["eu-central", "us-east"] };
    expect(isTargeted(device("x", { region: "us-east" }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { region: "ap-south" }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { region: "ap-south" }), FIRMWARE, { regions: [] })).toBe(true);
    expect(isTargeted(device("x", { hardwareVersion: "hw-b" }), FIRMWARE, { hardware: ["hw-b"] })).toBe(true);
    expect(isTargeted(device("x", { hardwareVersion: "hw-a" }), FIRMWARE, { hardware: ["hw-b"] })).toBe(false);
    expect(isTargeted(device("x"), FIRMWARE, { hardware: [] })).toBe(true);
  });

  it("by tags: a device with any of the tags", () => {
    const t = { tags: ["pilot", "lab"] };
    expect(isTargeted(device("x", { tags: ["lab"] }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { tags: ["prod", "pilot"] }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { tags: ["prod"] }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { tags: [] }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { tags: [] }), FIRMWARE, { tags: [] })).toBe(true);
  });

  it("by version range, both ends inclusive, in semver precedence", () => {
    const t = { versionMin: "4.0.0", versionMax: "4.1.9" };
    expect(isTargeted(device("x", { firmwareVersion: "4.0.0" }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { firmwareVersion: "4.1.9" }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { firmwareVersion: "4.1.10" }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { firmwareVersion: "4.0.0-rc.1" }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { firmwareVersion: "3.99.0" }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { firmwareVersion: "4.1.9+build.3" }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { firmwareVersion: "9.0.0" }), FIRMWARE, { versionMin: "4.0.0" })).toBe(true);
    expect(isTargeted(device("x", { firmwareVersion: "1.0.0" }), FIRMWARE, { versionMax: "4.0.0" })).toBe(true);
  });

  it("all filters must hold", () => {
    const t = { regions: ["eu-central"], hardware: ["hw-a"], tags: ["pilot"], versionMin: "4.0.0" };
    expect(isTargeted(device("x", { tags: ["pilot"] }), FIRMWARE, t)).toBe(true);
    expect(isTargeted(device("x", { tags: ["pilot"], region: "us-east" }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { tags: ["pilot"], hardwareVersion: "hw-b" }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { tags: [] }), FIRMWARE, t)).toBe(false);
    expect(isTargeted(device("x", { tags: ["pilot"], firmwareVersion: "3.0.0" }), FIRMWARE, t)).toBe(false);
  });

  it("planRollout plans only the targeted devices", () => {
    const devices = [
      ...fleet(30, "eu"),
      ...fleet(20, "us").map((d) => ({ ...d, region: "us-east" })),
      ...fleet(5, "gw").map((d) => ({ ...d, type: "gateway" })),
    ];
    const plan = planRollout("s", devices, FIRMWARE, { regions: ["us-east"] }, equal(4));
    expect(sizes(plan)).toEqual([5, 5, 5, 5]);
    expect(order(plan).every((id) => id.startsWith("us-"))).toBe(true);
    expect(plan.skipped).toEqual([]);
  });
});
