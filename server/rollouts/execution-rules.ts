// One device's execution within a rollout: a small state machine driven by
// what the device reports, timers and operator actions.
import { fullJitterBackoff } from "@/server/mqtt/backoff.ts";

export const EXECUTION_STATES = ["pending", "notified", "in_progress", "retry_wait", "succeeded", "failed", "timed_out", "cancelled"] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];
export const TERMINAL: ReadonlySet<ExecutionState> = new Set(["succeeded", "failed", "timed_out", "cancelled"]);

export type Execution = { state: ExecutionState; attempts: number; errorCode: string | null; deadlineAt: number | null; retryAt: number | null };
export type ExecutionSettings = { timeoutSec: number; maxRetries: number; retryBaseSec: number; retryCapSec: number };
export const DEFAULT_EXECUTION: ExecutionSettings = { timeoutSec: 30 * 60, maxRetries: 2, retryBaseSec: 30, retryCapSec: 15 * 60 };

export type ExecutionEvent =
  | { type: "notified"; at: number }
  | { type: "reported"; at: number; status: string; version: string | null; errorCode: string | null }
  | { type: "tick"; at: number }
  | { type: "cancel" };

const IN_PROGRESS = new Set(["downloading", "verifying", "installing"]);

function failOrRetry(e: Execution, state: "failed" | "timed_out", errorCode: string | null, at: number, s: ExecutionSettings, random: () => number): Execution {
  if (e.attempts <= s.maxRetries) {
    const delay = Math.max(1, fullJitterBackoff(e.attempts - 1, s.retryBaseSec * 1000, s.retryCapSec * 1000, random) / 1000);
    return { ...e, state: "retry_wait", errorCode, deadlineAt: null, retryAt: at + delay };
  }
  return { ...e, state, errorCode, deadlineAt: null, retryAt: null };
}

/**
 * Next state of an execution. `attempts` counts notifications; a failure with
 * attempts left waits (full-jitter backoff) and is notified again.
 */
export function nextExecution(e: Execution, event: ExecutionEvent, target: string, s: ExecutionSettings, random: () => number = Math.random): Execution {
  if (TERMINAL.has(e.state)) return e;
  switch (event.type) {
    case "cancel":
      return { ...e, state: "cancelled", deadlineAt: null, retryAt: null };
    case "notified":
      return { ...e, state: "notified", attempts: e.attempts + 1, deadlineAt: event.at + s.timeoutSec, retryAt: null, errorCode: null };
    case "tick":
      if (e.deadlineAt !== null && event.at >= e.deadlineAt && (e.state === "notified" || e.state === "in_progress")) {
        return failOrRetry(e, "timed_out", "timeout", event.at, s, random);
      }
      return e;
    case "reported": {
      if (e.state !== "notified" && e.state !== "in_progress") return e;
      if (IN_PROGRESS.has(event.status)) return { ...e, state: "in_progress" };
      if (event.status === "completed") {
        // Success only when the device really runs the target image.
        if (event.version === target) return { ...e, state: "succeeded", deadlineAt: null, errorCode: null };
        return failOrRetry(e, "failed", `version_mismatch:${event.version ?? "none"}`, event.at, s, random);
      }
      if (event.status === "failed" || event.status === "rolled_back") return failOrRetry(e, "failed", event.errorCode ?? event.status, event.at, s, random);
      return e;
    }
  }
}
