// The controller's decision for one running rollout, from the counts of its
// waves: pause (guard), advance (gate), complete, or wait with the gate in
// words. Pure: reconcile.ts gathers the counts and applies the verdict.
import { describeGate, evaluateFailureGuard, evaluateWaveGate, type GateSettings, type WaveCounts } from "./gate-rules.ts";

/** `guard`: the counts the failure guard judges after a resume from an automatic pause (only devices finished since); else withFailedAttempts. */
export type WaveSnapshot = { index: number; state: "pending" | "running" | "passed" | "completed" | "aborted"; counts: WaveCounts; guard?: WaveCounts; retrying?: number };

export type RolloutVerdict =
  | { kind: "pause"; wave: number; reason: string; counts: WaveCounts }
  | { kind: "advance"; from: number; to: number; reason: string; gateText: string; counts: WaveCounts }
  | { kind: "complete"; reason: string }
  | { kind: "wait"; gateText: string };

/** The counts with devices waiting to retry after a failed attempt counted as failures (what the gate and its text judge). */
export function withFailedAttempts(w: WaveSnapshot): WaveCounts {
  const retrying = w.retrying ?? 0;
  return { ...w.counts, inProgress: w.counts.inProgress - retrying, failed: w.counts.failed + retrying };
}

/** Devices of a wave not finished yet: pending, notified, in progress or waiting to retry. */
export const unfinished = (c: WaveCounts) => c.pending + c.inProgress;

export function decideRollout(waves: WaveSnapshot[], current: number, s: GateSettings): RolloutVerdict {
  // Every started wave is guarded, also one whose gate passed but whose devices are still finishing.
  for (const wave of waves) {
    if (wave.state !== "running" && wave.state !== "passed") continue;
    // A device waiting to retry after a failed attempt is a failure here: a firmware that fails
    // 40% of installs must not hide behind its retries.
    const counts = wave.guard ?? withFailedAttempts(wave);
    const guard = evaluateFailureGuard(counts, s);
    if (guard.pause) return { kind: "pause", wave: wave.index, reason: `Wave ${wave.index + 1}: ${guard.reason}`, counts };
  }
  const cur = waves.find((w) => w.index === current);
  if (!cur) return { kind: "complete", reason: "no wave left" };
  const last = current === Math.max(...waves.map((w) => w.index));
  if (last) {
    const open = waves.reduce((n, w) => n + unfinished(w.counts), 0);
    if (open === 0) return { kind: "complete", reason: "every device finished" };
    const offline = waves.reduce((n, w) => n + w.counts.offline, 0);
    return {
      kind: "wait",
      gateText: `Last wave: ${open} device${open === 1 ? "" : "s"} still updating${offline > 0 ? `, ${offline} potentially offline` : ""}`,
    };
  }
  const judged = withFailedAttempts(cur);
  const gate = evaluateWaveGate(judged, s);
  const gateText = describeGate(current + 1, current, judged, s);
  if (gate.open) return { kind: "advance", from: current, to: current + 1, reason: gate.reason, gateText, counts: judged };
  return { kind: "wait", gateText };
}
