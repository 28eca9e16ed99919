// Gate and guard math. The issue: next wave when ≥ 90% of the current wave's
// reachable devices succeeded; auto-pause when the failure rate of finished
// devices exceeds 5% once at least 10 finished; the Wilson 95% interval shown
// with both; pause early when its lower bound is already above 5%; refuse to
// advance while its upper bound is far above (× 2); potentially-offline
// devices leave the denominator and are shown.
import { describe, expect, it } from "vitest";
import { DEFAULT_GATE, describeGate, evaluateFailureGuard, evaluateWaveGate, waveHealth, wilsonInterval, type WaveCounts } from "./gate-rules.ts";

const Z = 1.96;

/**
 * Reference Wilson bounds, found the long way: the interval is every p with
 * |p̂ − p| ≤ z·√(p(1 − p)/n) (the score test not rejecting p), so each bound is
 * a root of (p̂ − p)² − z²·p(1 − p)/n, found by bisection on [0, p̂] and [p̂, 1].
 */
function referenceWilson(k: number, n: number): { lower: number; upper: number } {
  const ph = k / n;
  const f = (p: number) => (ph - p) ** 2 - (Z * Z * p * (1 - p)) / n;
  const root = (lo: number, hi: number, loPositive: boolean) => {
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > 0 === loPositive) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  return { lower: k === 0 ? 0 : root(0, ph, true), upper: k === n ? 1 : root(ph, 1, false) };
}

function counts(over: Partial<WaveCounts>): WaveCounts {
  const c = { size: 100, pending: 0, inProgress: 0, succeeded: 0, failed: 0, timedOut: 0, offline: 0, ...over };
  return c;
}

describe("wilsonInterval", () => {
  // Published values (Newcombe 1998, Stat Med 17:857, method 3; and the usual tables).
  it.each([
    [0, 10, 0, 0.2775],
    [1, 10, 0.0179, 0.4042],
    [10, 10, 0.7225, 1],
    [5, 100, 0.0215, 0.1118],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
    [15, 148, 0.0624, 0.1605],
    [81, 263, 0.2553, 0.3662],
  ])("%i of %i → %f–%f (table)", (k, n, lower, upper) => {
    const i = wilsonInterval(k, n);
    expect(i.lower).toBeCloseTo(lower, 3);
    expect(i.upper).toBeCloseTo(upper, 3);
  });

  it("matches the bounds found by bisection for many k, n within 1e-3 (in fact 1e-9)", () => {
    for (const n of [1, 2, 3, 4, 5, 9, 10, 11, 20, 37, 100, 1_000]) {
      for (let k = 0; k <= n; k += Math.max(1, Math.floor(n / 17))) {
        const got = wilsonInterval(k, n);
        const want = referenceWilson(k, n);
        expect(Math.abs(got.lower - want.lower), `${k}/${n} lower`).toBeLessThan(1e-9);
        expect(Math.abs(got.upper - want.upper), `${k}/${n} upper`).toBeLessThan(1e-9);
      }
    }
  });

  it("0 failures: lower bound 0 and upper bound z²/(n + z²); all failures: the mirror image", () => {
    for (const n of [1, 3, 10, 100]) {
      expect(wilsonInterval(0, n).lower).toBe(0);
      expect(wilsonInterval(0, n).upper).toBeCloseTo((Z * Z) / (n + Z * Z), 12);
      expect(wilsonInterval(n, n).upper).toBeCloseTo(1, 12);
      expect(wilsonInterval(n, n).lower).toBeCloseTo(n / (n + Z * Z), 12);
    }
  });

  it("is symmetric: bounds for k of n mirror those for n − k", () => {
    for (const [k, n] of [
      [1, 10],
      [3, 7],
      [5, 100],
    ] as const) {
      expect(wilsonInterval(k, n).lower).toBeCloseTo(1 - wilsonInterval(n - k, n).upper, 12);
    }
  });

  it("contains the observed rate, stays in [0, 1] and narrows as n grows", () => {
    let width = Infinity;
    for (const n of [10, 20, 40, 80, 160]) {
      const k = n / 10;
      const i = wilsonInterval(k, n);
      expect(i.lower).toBeLessThanOrEqual(k / n);
      expect(i.upper).toBeGreaterThanOrEqual(k / n);
      expect(i.upper - i.lower).toBeLessThan(width);
      width = i.upper - i.lower;
    }
  });

  it("no trials → the whole [0, 1]", () => {
    expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1 });
  });

  it("takes another z (99%: 2.576) and widens", () => {
    const i95 = wilsonInterval(1, 10);
    const i99 = wilsonInterval(1, 10, 2.576);
    expect(i99.lower).toBeLessThan(i95.lower);
    expect(i99.upper).toBeGreaterThan(i95.upper);
  });
});

describe("waveHealth", () => {
  it("failures are failed + timed out; finished adds the successes; offline leaves the denominator", () => {
    const h = waveHealth(counts({ pending: 5, inProgress: 4, succeeded: 81, failed: 2, timedOut: 1, offline: 7 }));
    expect(h.failures).toBe(3);
    expect(h.finished).toBe(84);
    expect(h.reachable).toBe(93);
    expect(h.successRate).toBeCloseTo(81 / 93, 12);
    expect(h.failureRate).toBeCloseTo(3 / 84, 12);
    expect(h.interval).toEqual(wilsonInterval(3, 84));
  });

  it("nothing reachable or finished yet → rates 0, interval [0, 1]", () => {
    const h = waveHealth(counts({ size: 10, offline: 10 }));
    expect(h).toEqual({ reachable: 0, finished: 0, failures: 0, successRate: 0, failureRate: 0, interval: { lower: 0, upper: 1 } });
  });
});

describe("evaluateFailureGuard", () => {
  it("defaults: 5%, 10 finished, early from 3, upper factor 2, gate 90%", () => {
    expect(DEFAULT_GATE).toEqual({ successGate: 0.9, maxFailureRate: 0.05, minSample: 10, earlyMinSample: 3, advanceUpperFactor: 2 });
  });

  it("9 finished with 1 failure: no pause (rate rule needs 10; the lower bound is below 5%)", () => {
    expect(referenceWilson(1, 9).lower).toBeLessThan(0.05);
    expect(evaluateFailureGuard(counts({ succeeded: 8, failed: 1 }), DEFAULT_GATE)).toEqual({ pause: false });
  });

  it("10 finished with 1 failure (10% > 5%): pause, with the 95% CI in the reason", () => {
    const v = evaluateFailureGuard(counts({ succeeded: 9, failed: 1, inProgress: 90 }), DEFAULT_GATE);
    expect(v).toEqual({ pause: true, reason: "failure rate 10.0% (1 of 10) exceeds 5.0%; 95% CI 1.8%–40.4%" });
  });

  it("a timeout counts as a failure", () => {
    expect(evaluateFailureGuard(counts({ succeeded: 9, timedOut: 1 }), DEFAULT_GATE).pause).toBe(true);
  });

  it("exactly 5% does not exceed 5%", () => {
    expect(evaluateFailureGuard(counts({ succeeded: 19, failed: 1 }), DEFAULT_GATE)).toEqual({ pause: false });
    expect(evaluateFailureGuard(counts({ succeeded: 95, failed: 5 }), DEFAULT_GATE)).toEqual({ pause: false });
    expect(evaluateFailureGuard(counts({ succeeded: 94, failed: 5 }), DEFAULT_GATE).pause).toBe(true);
  });

  it("3 of 3 failed: early pause, because even the CI's lower bound is above 5%", () => {
    expect(referenceWilson(3, 3).lower).toBeGreaterThan(0.05);
    expect(evaluateFailureGuard(counts({ failed: 3 }), DEFAULT_GATE)).toEqual({
      pause: true,
      reason: "failures 3 of 3: even the 95% CI's lower bound 43.8% exceeds 5.0%",
    });
  });

  it("1 of 1 and 2 of 2 failed: below earlyMinSample 3, no pause yet", () => {
    expect(evaluateFailureGuard(counts({ failed: 1 }), DEFAULT_GATE)).toEqual({ pause: false });
    expect(evaluateFailureGuard(counts({ failed: 2 }), DEFAULT_GATE)).toEqual({ pause: false });
    expect(evaluateFailureGuard(counts({ failed: 2 }), { ...DEFAULT_GATE, earlyMinSample: 2 }).pause).toBe(true);
  });

  it("early pause follows the lower bound: 1 of 3 pauses, 1 of 4 does not", () => {
    expect(referenceWilson(1, 3).lower).toBeGreaterThan(0.05);
    expect(referenceWilson(1, 4).lower).toBeLessThan(0.05);
    expect(evaluateFailureGuard(counts({ succeeded: 2, failed: 1 }), DEFAULT_GATE).pause).toBe(true);
    expect(evaluateFailureGuard(counts({ succeeded: 3, failed: 1 }), DEFAULT_GATE)).toEqual({ pause: false });
  });

  it("2 failures of 5 pause early, before 10 finished", () => {
    const v = evaluateFailureGuard(counts({ succeeded: 3, failed: 2 }), DEFAULT_GATE);
    expect(v.pause && v.reason).toMatch(/^failures 2 of 5: even the 95% CI's lower bound 11\.8% exceeds 5\.0%$/);
  });

  it("unfinished and offline devices are not part of the failure rate", () => {
    expect(evaluateFailureGuard(counts({ succeeded: 95, failed: 4, offline: 1 }), DEFAULT_GATE)).toEqual({ pause: false });
    expect(evaluateFailureGuard(counts({ succeeded: 5, pending: 80, inProgress: 14, offline: 10 }), DEFAULT_GATE)).toEqual({ pause: false });
  });

  it("follows the settings", () => {
    const strict = { ...DEFAULT_GATE, maxFailureRate: 0.01, minSample: 50 };
    expect(evaluateFailureGuard(counts({ succeeded: 48, failed: 1 }), strict)).toEqual({ pause: false });
    expect(evaluateFailureGuard(counts({ succeeded: 49, failed: 1 }), strict).pause).toBe(true);
  });
});

describe("evaluateWaveGate", () => {
  it("a wave of 100 with 10 potentially offline and 81 succeeded is at 90% → open", () => {
    const v = evaluateWaveGate(counts({ succeeded: 81, inProgress: 9, offline: 10 }), DEFAULT_GATE);
    expect(v.open).toBe(true);
    expect(v.health.reachable).toBe(90);
    expect(v.health.successRate).toBe(0.9);
    expect(v.reason).toBe("90.0% succeeded (gate 90.0%)");
  });

  it("the same wave without the offline exclusion would be closed (81%)", () => {
    const v = evaluateWaveGate(counts({ succeeded: 81, inProgress: 19 }), DEFAULT_GATE);
    expect(v).toMatchObject({ open: false, reason: "81.0% of reachable devices succeeded; the gate is 90.0%" });
  });

  it("80 of 90 reachable (88.9%) is closed", () => {
    expect(evaluateWaveGate(counts({ succeeded: 80, inProgress: 10, offline: 10 }), DEFAULT_GATE).open).toBe(false);
  });

  it("refuses to advance while the CI's upper bound is above 2 × 5%, even at 95% success", () => {
    // 19 of 20 succeeded, 1 failed: 5% is not above 5%, so no pause…
    const c = counts({ size: 20, succeeded: 19, failed: 1 });
    expect(evaluateFailureGuard(c, DEFAULT_GATE)).toEqual({ pause: false });
    // …but one failure in 20 allows a true rate up to 23.6%.
    const v = evaluateWaveGate(c, DEFAULT_GATE);
    expect(v.open).toBe(false);
    expect(v.reason).toBe("the failure rate's 95% CI reaches 23.6%, above 10.0%");
  });

  it("upper-bound refusal at the edge: 5 of 100 failed (upper 11.2%) stays closed, 4 of 100 (9.8%) opens", () => {
    expect(referenceWilson(5, 100).upper).toBeGreaterThan(0.1);
    expect(referenceWilson(4, 100).upper).toBeLessThan(0.1);
    expect(evaluateWaveGate(counts({ succeeded: 95, failed: 5 }), DEFAULT_GATE).open).toBe(false);
    expect(evaluateWaveGate(counts({ succeeded: 96, failed: 4 }), DEFAULT_GATE).open).toBe(true);
  });

  it("a larger factor lets the same wave through", () => {
    expect(evaluateWaveGate(counts({ size: 20, succeeded: 19, failed: 1 }), { ...DEFAULT_GATE, advanceUpperFactor: 5 }).open).toBe(true);
  });

  it("a wave with every device potentially offline is closed and says why", () => {
    expect(evaluateWaveGate(counts({ size: 5, offline: 5 }), DEFAULT_GATE)).toMatchObject({ open: false, reason: "no reachable device in the wave yet" });
  });

  it("the issue's canary (15 of 1,500) opens when all 15 succeeded, although 0 of 15 allows up to 20.4%", () => {
    expect(referenceWilson(0, 15).upper).toBeGreaterThan(0.1);
    expect(evaluateWaveGate(counts({ size: 15, succeeded: 15 }), DEFAULT_GATE)).toMatchObject({ open: true, reason: "100.0% succeeded (gate 90.0%)" });
    // One failure among them: 6.7% > 5% with 15 finished, so the guard pauses instead.
    expect(evaluateFailureGuard(counts({ size: 15, succeeded: 14, failed: 1 }), DEFAULT_GATE).pause).toBe(true);
  });

  it("a single-device canary (tiny fleet) opens on its one success", () => {
    expect(evaluateWaveGate(counts({ size: 1, succeeded: 1 }), DEFAULT_GATE).open).toBe(true);
    expect(evaluateWaveGate(counts({ size: 1, inProgress: 1 }), DEFAULT_GATE).open).toBe(false);
    expect(evaluateWaveGate(counts({ size: 1, failed: 1 }), DEFAULT_GATE).open).toBe(false);
  });

  it("with no failure, the gate opens at 90% for every wave size", () => {
    for (let size = 1; size <= 60; size++) {
      const succeeded = Math.ceil(size * 0.9);
      expect(evaluateWaveGate(counts({ size, succeeded, inProgress: size - succeeded }), DEFAULT_GATE).open, `size ${size}`).toBe(true);
    }
  });
});

describe("describeGate", () => {
  it("says which wave starts when, where the current one is, its failures and the CI", () => {
    const c = counts({ succeeded: 84, failed: 2, inProgress: 14 });
    const ci = referenceWilson(2, 86);
    expect(ci.lower).toBeCloseTo(0.0064, 4);
    expect(ci.upper).toBeCloseTo(0.0809, 4);
    expect(describeGate(2, 1, c, DEFAULT_GATE)).toBe("Wave 3 starts when wave 2 reaches 90% — now 84.0%, 2 failures, 95% CI 0.6%–8.1%");
  });

  it("one failure is singular; potentially-offline devices are named as excluded", () => {
    const c = counts({ succeeded: 81, failed: 1, inProgress: 8, offline: 10 });
    expect(describeGate(1, 0, c, DEFAULT_GATE)).toBe("Wave 2 starts when wave 1 reaches 90% — now 90.0%, 1 failure, 95% CI 0.2%–6.6%, 10 potentially offline excluded");
  });

  it("one decimal while fewer than 100 finished, whole percent from 100", () => {
    const c = counts({ size: 200, succeeded: 168, failed: 2, inProgress: 30 });
    expect(describeGate(4, 3, c, DEFAULT_GATE)).toBe("Wave 5 starts when wave 4 reaches 90% — now 84%, 2 failures, 95% CI 0%–4%");
  });

  it("no finished device yet: 0 failures and the uninformative 0–100% interval", () => {
    expect(describeGate(1, 0, counts({ size: 15, inProgress: 15 }), DEFAULT_GATE)).toBe("Wave 2 starts when wave 1 reaches 90% — now 0.0%, 0 failures, 95% CI 0.0%–100.0%");
  });

  it("shows the configured gate", () => {
    expect(describeGate(1, 0, counts({ succeeded: 50 }), { ...DEFAULT_GATE, successGate: 0.95 })).toMatch(/^Wave 2 starts when wave 1 reaches 95% — now 50\.0%/);
  });
});
