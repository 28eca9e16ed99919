// Small numeric helpers and the printed table.
import type { RssSample } from "./worker.ts";

export function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function max(values: number[]): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** p50/p99/max of the latencies per window of `windowSec`, to see whether slow answers cluster (GC, checkpoints, autosave…). */
export function latencyWindows(acceptedAtMs: number[], latenciesMs: number[], windowSec: number) {
  const windows: number[][] = [];
  acceptedAtMs.forEach((t, i) => (windows[Math.floor(t / 1000 / windowSec)] ??= []).push(latenciesMs[i]!));
  return Array.from(windows, (w, i) => ({
    fromSec: i * windowSec,
    n: w?.length ?? 0,
    p50: w ? round(percentile(w, 0.5)) : null,
    p99: w ? round(percentile(w, 0.99)) : null,
    max: w ? round(max(w)) : null,
  }));
}

export const round = (v: number, digits = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : NaN);

/** Answers per second between the 10th and the 90th percentile answer: the rate without ramp-up and tail. */
export function steadyRate(answeredAtMs: number[]): number {
  if (answeredAtMs.length < 10) return NaN;
  const a = answeredAtMs[Math.floor(answeredAtMs.length * 0.1)]!;
  const b = answeredAtMs[Math.floor(answeredAtMs.length * 0.9)]!;
  return b > a ? (Math.floor(answeredAtMs.length * 0.9) - Math.floor(answeredAtMs.length * 0.1)) / ((b - a) / 1000) : NaN;
}

/**
 * RSS over the sampled phases: the max, and the mean of the first and the last
 * window (60 s, or a third of the span when the run is shorter than 3 minutes).
 */
export function rssSummary(samples: RssSample[], phases: string[]) {
  const s = samples.filter((x) => phases.includes(x.phase));
  if (s.length === 0) return { maxMb: NaN, firstMb: NaN, lastMb: NaN, windowSec: 0, samples: 0, spanSec: 0 };
  const t0 = s[0]!.t;
  const t1 = s[s.length - 1]!.t;
  const span = t1 - t0;
  const windowSec = span >= 180 ? 60 : Math.max(1, span / 3);
  const mean = (xs: RssSample[]) => xs.reduce((a, b) => a + b.mb, 0) / Math.max(1, xs.length);
  return {
    maxMb: round(max(s.map((x) => x.mb))),
    firstMb: round(mean(s.filter((x) => x.t <= t0 + windowSec))),
    lastMb: round(mean(s.filter((x) => x.t >= t1 - windowSec))),
    windowSec: round(windowSec),
    samples: s.length,
    spanSec: round(span),
  };
}

export function table(rows: Array<[string, string, string?]>): string {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const line = `+-${"-".repeat(w0)}-+-${"-".repeat(w1)}-+`;
  const out = [line];
  for (const [k, v, note] of rows) {
    if (k === "---") {
      out.push(line);
      continue;
    }
    out.push(`| ${k.padEnd(w0)} | ${v.padStart(w1)} |${note ? ` ${note}` : ""}`);
  }
  out.push(line);
  return out.join("\n");
}
