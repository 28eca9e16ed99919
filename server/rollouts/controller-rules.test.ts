// The controller's verdict for a running rollout, from its waves' counts:
// the failure guard over every started wave (also one whose gate already
// passed) comes first, then the current wave's gate, and the last wave
// completes only when no device of any wave is still updating. Also the
// publish budget (a token bucket per rollout) that rate-limits notifications.
import { describe, expect, it } from "vitest";
import { PublishBudget } from "./controller.ts";
import { decideRollout, unfinished, withFailedAttempts, type WaveSnapshot } from "./controller-rules.ts";
import { DEFAULT_GATE, type WaveCounts } from "./gate-rules.ts";

function counts(over: Partial<WaveCounts>): WaveCounts {
  return { size: 100, pending: 0, inProgress: 0, succeeded: 0, failed: 0, timedOut: 0, offline: 0, ...over };
}
const wave = (index: number, state: WaveSnapshot["state"], over: Partial<WaveCounts> = {}): WaveSnapshot => ({ index, state, counts: counts(over) });
/** Three waves of 100: the first `current` done, the current one as given, the rest not started. */
function threeWaves(current: number, currentCounts: Partial<WaveCounts>, earlier: Partial<WaveCounts> = { succeeded: 100 }): WaveSnapshot[] {
  return [0, 1, 2].map((i) =>
    i < current ? wave(i, "passed", earlier) : i === current ? wave(i, "running", currentCounts) : wave(i, "pending", { pending: 100 }),
  );
}

describe("decideRollout: the failure guard", () => {
  it("pauses on the running wave once 10 finished and the failure rate exceeds 5%, with the rate and the interval in the reason", () => {
    const c = { succeeded: 8, failed: 1, timedOut: 1, inProgress: 90 };
    expect(decideRollout(threeWaves(0, c), 0, DEFAULT_GATE)).toEqual({
      kind: "pause",
      wave: 0,
      reason: "Wave 1: failure rate 20.0% (2 of 10) exceeds 5.0%; 95% CI 5.7%–51.0%",
      counts: counts(c),
    });
  });

  it("pauses early, from 3 finished, when even the interval's lower bound is above 5%", () => {
    const verdict = decideRollout(threeWaves(0, { failed: 3, inProgress: 97 }), 0, DEFAULT_GATE);
    expect(verdict).toMatchObject({ kind: "pause", wave: 0, reason: "Wave 1: failures 3 of 3: even the 95% CI's lower bound 43.8% exceeds 5.0%" });
    // 1 of 4 is still luck (lower bound 4.6%): no pause, and the gate is far off.
    expect(decideRollout(threeWaves(0, { succeeded: 3, failed: 1, inProgress: 96 }), 0, DEFAULT_GATE).kind).toBe("wait");
  });

  it("keeps guarding a wave whose gate passed while its last devices finish", () => {
    // Wave 1 passed at 90 of 100; 8 of its last 10 then failed: 8 of 98 is 8.2%.
    const waves = [wave(0, "passed", { succeeded: 90, failed: 8, inProgress: 2 }), wave(1, "running", { succeeded: 50, inProgress: 50 }), wave(2, "pending", { pending: 100 })];
    const verdict = decideRollout(waves, 1, DEFAULT_GATE);
    expect(verdict).toMatchObject({ kind: "pause", wave: 0, counts: counts({ succeeded: 90, failed: 8, inProgress: 2 }) });
    expect((verdict as { reason: string }).reason).toMatch(/^Wave 1: failure rate 8\.2% \(8 of 98\) exceeds 5\.0%/);
  });

  it("pauses on the guard even where the gate alone would open", () => {
    // 90 of 100 succeeded meets the gate, but 10 of 100 failed.
    expect(decideRollout(threeWaves(0, { succeeded: 90, failed: 10 }), 0, DEFAULT_GATE)).toMatchObject({ kind: "pause", wave: 0 });
  });

  it("does not guard waves that have not started or are completed", () => {
    const waves = [wave(0, "completed", { succeeded: 80, failed: 20 }), wave(1, "running", { succeeded: 10, inProgress: 90 }), wave(2, "pending", { failed: 50, pending: 50 })];
    expect(decideRollout(waves, 1, DEFAULT_GATE).kind).toBe("wait");
  });

  it("applies the rollout's own thresholds", () => {
    const c = { succeeded: 9, failed: 1, inProgress: 90 };
    expect(decideRollout(threeWaves(0, c), 0, DEFAULT_GATE).kind).toBe("pause");
    expect(decideRollout(threeWaves(0, c), 0, { ...DEFAULT_GATE, maxFailureRate: 0.2 }).kind).toBe("wait");
  });
});

describe("decideRollout: after a resume from an automatic pause", () => {
  const paused = { succeeded: 60, failed: 30, inProgress: 10 };
  it("judges only devices finished since the resume, so the same failures do not pause it again", () => {
    const waves = threeWaves(0, paused);
    waves[0] = { ...waves[0]!, guard: counts({ ...paused, succeeded: 0, failed: 0 }) };
    expect(decideRollout(waves, 0, DEFAULT_GATE).kind).toBe("wait");
  });
  it("pauses again when new failures since the resume trip the guard, with those numbers", () => {
    const waves = threeWaves(0, paused);
    waves[0] = { ...waves[0]!, guard: counts({ ...paused, succeeded: 0, failed: 3 }) };
    const verdict = decideRollout(waves, 0, DEFAULT_GATE);
    expect(verdict).toMatchObject({ kind: "pause", wave: 0 });
    expect(verdict.kind === "pause" && verdict.reason).toContain("failures 3 of 3");
  });
  it("still refuses to advance on the whole wave's failures: a resume is not an advance", () => {
    const c = { succeeded: 90, failed: 10 };
    const waves = threeWaves(0, c);
    waves[0] = { ...waves[0]!, guard: counts({ ...c, succeeded: 0, failed: 0 }) };
    expect(decideRollout(waves, 0, DEFAULT_GATE).kind).toBe("wait");
  });
});

describe("decideRollout: devices waiting to retry", () => {
  it("count as failures for the gate and its text: the wave does not advance while its devices keep failing", () => {
    const waves = threeWaves(0, { succeeded: 91, inProgress: 9 });
    // The guard (resumed after an automatic pause, nothing new since) stays quiet: this is about the gate.
    waves[0] = { ...waves[0]!, retrying: 9, guard: counts({ succeeded: 0, inProgress: 9 }) };
    const verdict = decideRollout(waves, 0, DEFAULT_GATE);
    expect(verdict.kind).toBe("wait");
    expect(verdict.kind === "wait" && verdict.gateText).toContain("9 failures");
  });
  it("withFailedAttempts moves them from in progress to failed and leaves the rest", () => {
    expect(withFailedAttempts({ ...wave(0, "running", { inProgress: 5, failed: 1 }), retrying: 3 })).toEqual(counts({ inProgress: 2, failed: 4 }));
  });
});

describe("decideRollout: the guard without a resume", () => {
  it("counts devices waiting to retry as failures (withFailedAttempts)", () => {
    const waves = threeWaves(0, { succeeded: 91, inProgress: 9 });
    waves[0] = { ...waves[0]!, retrying: 9 };
    expect(decideRollout(waves, 0, DEFAULT_GATE)).toMatchObject({ kind: "pause", wave: 0, counts: counts({ succeeded: 91, failed: 9 }) });
  });
});

describe("decideRollout: the gate", () => {
  it("advances when 90% of the current wave succeeded, with the gate in words", () => {
    const c = { succeeded: 90, inProgress: 10 };
    expect(decideRollout(threeWaves(0, c), 0, DEFAULT_GATE)).toEqual({
      kind: "advance",
      from: 0,
      to: 1,
      reason: "90.0% succeeded (gate 90.0%)",
      gateText: "Wave 2 starts when wave 1 reaches 90% — now 90.0%, 0 failures, 95% CI 0.0%–4.1%",
      counts: counts(c),
    });
  });

  it("waits one device short of the gate, and says how far it is", () => {
    expect(decideRollout(threeWaves(1, { succeeded: 89, inProgress: 11 }), 1, DEFAULT_GATE)).toEqual({
      kind: "wait",
      gateText: "Wave 3 starts when wave 2 reaches 90% — now 89.0%, 0 failures, 95% CI 0.0%–4.1%",
    });
  });

  it("leaves potentially offline devices out of the denominator and shows them", () => {
    // 81 of 90 reachable = 90%.
    const c = { succeeded: 81, inProgress: 19, offline: 10 };
    const verdict = decideRollout(threeWaves(0, c), 0, DEFAULT_GATE);
    expect(verdict).toMatchObject({ kind: "advance", from: 0, to: 1 });
    expect((verdict as { gateText: string }).gateText).toMatch(/, 10 potentially offline excluded$/);
    expect(decideRollout(threeWaves(0, { ...c, succeeded: 80, inProgress: 20 }), 0, DEFAULT_GATE).kind).toBe("wait");
  });

  it("waits while a failure seen leaves a high failure rate plausible", () => {
    // 19 of 20 succeeded, 1 failed: 5% does not pause, but the CI reaches 23.6%.
    const c = { size: 20, succeeded: 19, failed: 1 };
    expect(decideRollout(threeWaves(0, c), 0, DEFAULT_GATE)).toEqual({
      kind: "wait",
      gateText: "Wave 2 starts when wave 1 reaches 90% — now 95.0%, 1 failure, 95% CI 0.9%–23.6%",
    });
  });

  it("decides on the current wave only", () => {
    // Wave 1 (current) is healthy; wave 2 has not started.
    expect(decideRollout(threeWaves(1, { succeeded: 95, inProgress: 5 }), 1, DEFAULT_GATE)).toMatchObject({ kind: "advance", from: 1, to: 2 });
  });
});

describe("decideRollout: the last wave", () => {
  it("completes only when no device of any wave is unfinished", () => {
    const done = [wave(0, "passed", { succeeded: 100 }), wave(1, "running", { succeeded: 100 })];
    expect(decideRollout(done, 1, DEFAULT_GATE)).toEqual({ kind: "complete", reason: "every device finished" });
    // Devices of an earlier wave still updating, or waiting to retry, hold the completion.
    const earlier = [wave(0, "passed", { succeeded: 98, inProgress: 2 }), wave(1, "running", { succeeded: 100 })];
    expect(decideRollout(earlier, 1, DEFAULT_GATE)).toEqual({ kind: "wait", gateText: "Last wave: 2 devices still updating" });
    const pending = [wave(0, "passed", { succeeded: 100 }), wave(1, "running", { succeeded: 99, pending: 1 })];
    expect(decideRollout(pending, 1, DEFAULT_GATE)).toEqual({ kind: "wait", gateText: "Last wave: 1 device still updating" });
  });

  it("counts potentially offline devices of every wave in the wait text", () => {
    const waves = [wave(0, "passed", { succeeded: 97, inProgress: 3, offline: 2 }), wave(1, "running", { succeeded: 95, pending: 5, offline: 1 })];
    expect(decideRollout(waves, 1, DEFAULT_GATE)).toEqual({ kind: "wait", gateText: "Last wave: 8 devices still updating, 3 potentially offline" });
  });

  it("completes with a few failures below the guard, and a single-wave rollout is its own last wave", () => {
    expect(decideRollout([wave(0, "running", { succeeded: 97, failed: 3 })], 0, DEFAULT_GATE)).toEqual({ kind: "complete", reason: "every device finished" });
    expect(decideRollout([wave(0, "running", { size: 5, succeeded: 4, inProgress: 1 })], 0, DEFAULT_GATE)).toMatchObject({ kind: "wait" });
  });

  it("pauses rather than completes when the finished last wave failed too often", () => {
    expect(decideRollout([wave(0, "passed", { succeeded: 100 }), wave(1, "running", { succeeded: 90, timedOut: 10 })], 1, DEFAULT_GATE)).toMatchObject({
      kind: "pause",
      wave: 1,
    });
  });

  it("unfinished counts pending, notified, in progress and waiting to retry (all in inProgress), nothing finished", () => {
    expect(unfinished(counts({ pending: 3, inProgress: 4, succeeded: 80, failed: 7, timedOut: 6, offline: 2 }))).toBe(7);
  });
});

describe("PublishBudget", () => {
  const T0 = 1_721_305_247_000;

  it("lets one second's worth out at once, then ratePerSec", () => {
    const budget = new PublishBudget();
    expect(budget.take("r", 10, T0)).toBe(10);
    budget.spend("r", 10);
    expect(budget.take("r", 10, T0)).toBe(0);
    expect(budget.take("r", 10, T0 + 100)).toBe(1);
    expect(budget.take("r", 10, T0 + 550)).toBe(5); // 5.5 tokens
    budget.spend("r", 5);
    expect(budget.take("r", 10, T0 + 600)).toBe(1); // 0.5 left + 0.5
  });

  it("never holds more than one second's worth, however long it idled", () => {
    const budget = new PublishBudget();
    expect(budget.take("r", 50, T0)).toBe(50);
    expect(budget.take("r", 50, T0 + 60_000)).toBe(50);
    budget.spend("r", 20);
    expect(budget.take("r", 50, T0 + 120_000)).toBe(50);
  });

  it("keeps fractions across passes, so the rate holds over time", () => {
    // 7/s with a pass every 150 ms is 1.05 per pass: dropping fractions would give 1 per pass.
    const budget = new PublishBudget();
    let sent = 0;
    for (let t = 0; t <= 10_000; t += 150) {
      const n = budget.take("r", 7, T0 + t);
      budget.spend("r", n);
      sent += n;
    }
    // 7 at once, then 7/s for 9.9 s: 76.3.
    expect(sent).toBeGreaterThanOrEqual(75);
    expect(sent).toBeLessThanOrEqual(77);
  });

  it("keeps a bucket per rollout", () => {
    const budget = new PublishBudget();
    expect(budget.take("a", 5, T0)).toBe(5);
    budget.spend("a", 5);
    expect(budget.take("b", 5, T0)).toBe(5);
    expect(budget.take("a", 5, T0)).toBe(0);
  });
});
