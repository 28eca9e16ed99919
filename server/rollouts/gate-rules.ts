// Wave gates and the failure guard. Potentially-offline devices leave the
// gate's denominator (they are shown, never silently stalling a wave); a
// device counts as a success only when it reported `completed` with the target
// version (execution-rules.ts decides that).

export type GateSettings = {
  /** Next wave when this share of the current wave's reachable devices succeeded. */
  successGate: number;
  /** Pause when the failure rate of finished devices exceeds this… */
  maxFailureRate: number;
  /** …once at least this many finished. */
  minSample: number;
  /** Pause earlier when the 95% interval's lower bound is above maxFailureRate, from this many finished. */
  earlyMinSample: number;
  /** Refuse to advance while the interval's upper bound is above maxFailureRate × this. */
  advanceUpperFactor: number;
};

export const DEFAULT_GATE: GateSettings = { successGate: 0.9, maxFailureRate: 0.05, minSample: 10, earlyMinSample: 3, advanceUpperFactor: 2 };

export type WaveCounts = { size: number; pending: number; inProgress: number; succeeded: number; failed: number; timedOut: number; offline: number };

export type Interval = { lower: number; upper: number };

/** Wilson score interval for k failures in n trials (z = 1.96 for 95%). */
export function wilsonInterval(k: number, n: number, z = 1.96): Interval {
  if (n <= 0) return { lower: 0, upper: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const margin = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { lower: Math.max(0, centre - margin), upper: Math.min(1, centre + margin) };
}

export type WaveHealth = {
  reachable: number;
  finished: number;
  failures: number;
  successRate: number;
  failureRate: number;
  interval: Interval;
};

export function waveHealth(c: WaveCounts): WaveHealth {
  const failures = c.failed + c.timedOut;
  const finished = c.succeeded + failures;
  const reachable = Math.max(0, c.size - c.offline);
  return {
    reachable,
    finished,
    failures,
    successRate: reachable === 0 ? 0 : c.succeeded / reachable,
    failureRate: finished === 0 ? 0 : failures / finished,
    interval: wilsonInterval(failures, finished),
  };
}

export type GuardVerdict = { pause: false } | { pause: true; reason: string };

export function evaluateFailureGuard(c: WaveCounts, s: GateSettings): GuardVerdict {
  const h = waveHealth(c);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (h.finished >= s.minSample && h.failureRate > s.maxFailureRate) {
    return { pause: true, reason: `failure rate ${pct(h.failureRate)} (${h.failures} of ${h.finished}) exceeds ${pct(s.maxFailureRate)}; 95% CI ${pct(h.interval.lower)}–${pct(h.interval.upper)}` };
  }
  if (h.finished >= s.earlyMinSample && h.interval.lower > s.maxFailureRate) {
    return { pause: true, reason: `failures ${h.failures} of ${h.finished}: even the 95% CI's lower bound ${pct(h.interval.lower)} exceeds ${pct(s.maxFailureRate)}` };
  }
  return { pause: false };
}

export type GateVerdict = { open: boolean; reason: string; health: WaveHealth };

export function evaluateWaveGate(c: WaveCounts, s: GateSettings): GateVerdict {
  const health = waveHealth(c);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (health.reachable === 0) return { open: false, reason: "no reachable device in the wave yet", health };
  if (health.successRate < s.successGate) {
    return { open: false, reason: `${pct(health.successRate)} of reachable devices succeeded; the gate is ${pct(s.successGate)}`, health };
  }
  // Only failures seen can hold the gate: with none, the upper bound is just
  // z²/(n + z²), above 10% for any n < 35, and a 15-device canary (1% of
  // 1,500) could never advance.
  if (health.failures > 0 && health.interval.upper > s.maxFailureRate * s.advanceUpperFactor) {
    return { open: false, reason: `the failure rate's 95% CI reaches ${pct(health.interval.upper)}, above ${pct(s.maxFailureRate * s.advanceUpperFactor)}`, health };
  }
  return { open: true, reason: `${pct(health.successRate)} succeeded (gate ${pct(s.successGate)})`, health };
}

/** The gate in words, as the rollout page shows it. */
export function describeGate(nextWave: number, current: number, c: WaveCounts, s: GateSettings): string {
  const h = waveHealth(c);
  const pct = (x: number) => `${(x * 100).toFixed(h.finished < 100 ? 1 : 0)}%`;
  const offline = c.offline > 0 ? `, ${c.offline} potentially offline excluded` : "";
  return `Wave ${nextWave + 1} starts when wave ${current + 1} reaches ${Math.round(s.successGate * 100)}% — now ${pct(h.successRate)}, ${h.failures} failure${h.failures === 1 ? "" : "s"}, 95% CI ${pct(h.interval.lower)}–${pct(h.interval.upper)}${offline}`;
}
