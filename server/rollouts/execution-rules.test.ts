// One device's execution: pending → notified → in_progress → succeeded only on
// `completed` with the target version (a mismatch is a failure); failures and
// timeouts with retries left wait a full-jitter backoff; the in-progress
// timeout fires on a tick at the deadline; terminal states absorb everything.
// Times are unix seconds (PROTOCOL.md).
import { describe, expect, it } from "vitest";
import {
  DEFAULT_EXECUTION,
  EXECUTION_STATES,
  TERMINAL,
  nextExecution,
  type Execution,
  type ExecutionEvent,
  type ExecutionSettings,
  type ExecutionState,
} from "./execution-rules.ts";

const TARGET = "4.2.0";
const T0 = 1_721_305_247;
const PENDING: Execution = { state: "pending", attempts: 0, errorCode: null, deadlineAt: null, retryAt: null };
const noRandom = () => {
  throw new Error("random must not be drawn here");
};

const report = (at: number, status: string, version: string | null = null, errorCode: string | null = null): ExecutionEvent => ({ type: "reported", at, status, version, errorCode });

function run(events: ExecutionEvent[], s: ExecutionSettings = DEFAULT_EXECUTION, random: () => number = () => 0.5, from: Execution = PENDING): Execution[] {
  const trail: Execution[] = [];
  let e = from;
  for (const event of events) {
    e = nextExecution(e, event, TARGET, s, random);
    trail.push(e);
  }
  return trail;
}
const last = <T>(xs: T[]) => xs.at(-1)!;

describe("defaults", () => {
  it("30 min timeout, 2 retries, backoff base 30 s capped at 15 min", () => {
    expect(DEFAULT_EXECUTION).toEqual({ timeoutSec: 1_800, maxRetries: 2, retryBaseSec: 30, retryCapSec: 900 });
  });

  it("terminal states are exactly succeeded, failed, timed_out, cancelled", () => {
    expect(EXECUTION_STATES.filter((s) => TERMINAL.has(s))).toEqual(["succeeded", "failed", "timed_out", "cancelled"]);
  });
});

describe("happy path", () => {
  it("pending → notified → in_progress (downloading, verifying, installing) → succeeded", () => {
    const trail = run([
      { type: "notified", at: T0 },
      report(T0 + 5, "downloading"),
      report(T0 + 60, "verifying"),
      report(T0 + 70, "installing"),
      report(T0 + 127, "completed", TARGET),
    ], DEFAULT_EXECUTION, noRandom);
    expect(trail.map((e) => e.state)).toEqual(["notified", "in_progress", "in_progress", "in_progress", "succeeded"]);
    expect(trail[0]).toEqual({ state: "notified", attempts: 1, errorCode: null, deadlineAt: T0 + 1_800, retryAt: null });
    expect(trail[3]!.deadlineAt).toBe(T0 + 1_800);
    expect(last(trail)).toEqual({ state: "succeeded", attempts: 1, errorCode: null, deadlineAt: null, retryAt: null });
  });

  it("completed straight after the notification also succeeds", () => {
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 9, "completed", TARGET)])).state).toBe("succeeded");
  });

  it("repeated progress reports keep it in progress", () => {
    const trail = run([{ type: "notified", at: T0 }, report(T0 + 1, "downloading"), report(T0 + 2, "downloading"), report(T0 + 3, "downloading")]);
    expect(trail.map((e) => e.state)).toEqual(["notified", "in_progress", "in_progress", "in_progress"]);
  });

  it("statuses that say nothing about this update (idle, unknown) change nothing", () => {
    const notified = last(run([{ type: "notified", at: T0 }]));
    for (const status of ["idle", "rebooting", ""]) expect(nextExecution(notified, report(T0 + 1, status), TARGET, DEFAULT_EXECUTION, noRandom)).toBe(notified);
  });
});

describe("success only with the target version", () => {
  it("completed with another version is a failure, its errorCode naming the version", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 0 };
    const e = last(run([{ type: "notified", at: T0 }, report(T0 + 5, "installing"), report(T0 + 99, "completed", "4.1.5")], s));
    expect(e).toEqual({ state: "failed", attempts: 1, errorCode: "version_mismatch:4.1.5", deadlineAt: null, retryAt: null });
  });

  it("completed without a version is a failure too", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 0 };
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 99, "completed", null)], s))).toMatchObject({ state: "failed", errorCode: "version_mismatch:none" });
  });

  it("the version must equal the target exactly (a build-metadata variant is another image)", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 0 };
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 99, "completed", "4.2.0+debug")], s))).toMatchObject({ state: "failed", errorCode: "version_mismatch:4.2.0+debug" });
  });

  it("a mismatch with retries left waits for a retry, keeping the errorCode", () => {
    const e = last(run([{ type: "notified", at: T0 }, report(T0 + 99, "completed", "4.1.5")]));
    expect(e).toMatchObject({ state: "retry_wait", attempts: 1, errorCode: "version_mismatch:4.1.5", deadlineAt: null });
  });
});

describe("device-reported failures", () => {
  it("failed carries the device's errorCode; without one, the status", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 0 };
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 5, "downloading"), report(T0 + 9, "failed", null, "E_CHECKSUM")], s))).toMatchObject({ state: "failed", errorCode: "E_CHECKSUM" });
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 9, "failed")], s))).toMatchObject({ state: "failed", errorCode: "failed" });
  });

  it("rolled_back is a failure", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 0 };
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 5, "installing"), report(T0 + 50, "rolled_back", "4.1.5")], s))).toMatchObject({ state: "failed", errorCode: "rolled_back" });
    expect(last(run([{ type: "notified", at: T0 }, report(T0 + 50, "rolled_back", "4.1.5", "E_BOOT")], s))).toMatchObject({ state: "failed", errorCode: "E_BOOT" });
  });
});

describe("timeout", () => {
  const notified = last(run([{ type: "notified", at: T0 }]));
  const inProgress = nextExecution(notified, report(T0 + 10, "downloading"), TARGET, DEFAULT_EXECUTION);
  const s0 = { ...DEFAULT_EXECUTION, maxRetries: 0 };

  it("a tick before the deadline changes nothing", () => {
    expect(nextExecution(inProgress, { type: "tick", at: T0 + 1_799 }, TARGET, s0, noRandom)).toBe(inProgress);
    expect(nextExecution(notified, { type: "tick", at: T0 + 1_799.999 }, TARGET, s0, noRandom)).toBe(notified);
  });

  it("a tick at the deadline times out, from in_progress and from notified", () => {
    expect(nextExecution(inProgress, { type: "tick", at: T0 + 1_800 }, TARGET, s0)).toEqual({ state: "timed_out", attempts: 1, errorCode: "timeout", deadlineAt: null, retryAt: null });
    expect(nextExecution(notified, { type: "tick", at: T0 + 1_800 }, TARGET, s0).state).toBe("timed_out");
  });

  it("a tick long after the deadline times out too", () => {
    expect(nextExecution(inProgress, { type: "tick", at: T0 + 86_400 }, TARGET, s0).state).toBe("timed_out");
  });

  it("uses the configured timeout", () => {
    const s = { ...s0, timeoutSec: 60 };
    const e = last(run([{ type: "notified", at: T0 }], s));
    expect(e.deadlineAt).toBe(T0 + 60);
    expect(nextExecution(e, { type: "tick", at: T0 + 59 }, TARGET, s).state).toBe("notified");
    expect(nextExecution(e, { type: "tick", at: T0 + 60 }, TARGET, s).state).toBe("timed_out");
  });

  it("a timeout with retries left waits for a retry", () => {
    expect(nextExecution(inProgress, { type: "tick", at: T0 + 1_800 }, TARGET, DEFAULT_EXECUTION, () => 0.5)).toMatchObject({ state: "retry_wait", errorCode: "timeout", deadlineAt: null });
  });

  it("ticks do nothing in pending and retry_wait (no deadline is running)", () => {
    expect(nextExecution(PENDING, { type: "tick", at: T0 + 10 ** 9 }, TARGET, DEFAULT_EXECUTION, noRandom)).toBe(PENDING);
    const waiting = nextExecution(inProgress, { type: "tick", at: T0 + 1_800 }, TARGET, DEFAULT_EXECUTION, () => 0.5);
    expect(nextExecution(waiting, { type: "tick", at: T0 + 10 ** 9 }, TARGET, DEFAULT_EXECUTION, noRandom)).toBe(waiting);
  });

  it("a late report after the timeout does not revive it", () => {
    const timedOut = nextExecution(inProgress, { type: "tick", at: T0 + 1_800 }, TARGET, s0);
    expect(nextExecution(timedOut, report(T0 + 1_801, "completed", TARGET), TARGET, s0)).toBe(timedOut);
  });
});

describe("retries", () => {
  it("maxRetries 2 → three attempts, then failed for good", () => {
    const attempt = (at: number): ExecutionEvent[] => [{ type: "notified", at }, report(at + 5, "downloading"), report(at + 9, "failed", null, "E_FLASH")];
    const trail = run([...attempt(T0), ...attempt(T0 + 1_000), ...attempt(T0 + 2_000)]);
    const ends = [trail[2]!, trail[5]!, trail[8]!];
    expect(ends.map((e) => [e.state, e.attempts])).toEqual([
      ["retry_wait", 1],
      ["retry_wait", 2],
      ["failed", 3],
    ]);
    expect(last(trail)).toEqual({ state: "failed", attempts: 3, errorCode: "E_FLASH", deadlineAt: null, retryAt: null });
  });

  it("timeouts use up the same retries and end timed_out", () => {
    const trail = run([
      { type: "notified", at: T0 },
      { type: "tick", at: T0 + 1_800 },
      { type: "notified", at: T0 + 2_000 },
      { type: "tick", at: T0 + 3_800 },
      { type: "notified", at: T0 + 4_000 },
      { type: "tick", at: T0 + 5_800 },
    ]);
    expect(trail.map((e) => e.state)).toEqual(["notified", "retry_wait", "notified", "retry_wait", "notified", "timed_out"]);
    expect(last(trail)).toMatchObject({ attempts: 3, errorCode: "timeout" });
  });

  it.each([0, 1, 3])("maxRetries %i → maxRetries + 1 attempts", (maxRetries) => {
    const s = { ...DEFAULT_EXECUTION, maxRetries };
    let e = PENDING;
    let at = T0;
    for (let i = 0; i < maxRetries + 1; i++) {
      expect(e.state === "pending" || e.state === "retry_wait").toBe(true);
      e = nextExecution(e, { type: "notified", at }, TARGET, s);
      e = nextExecution(e, report(at + 1, "failed"), TARGET, s);
      at += 10_000;
    }
    expect(e).toMatchObject({ state: "failed", attempts: maxRetries + 1 });
  });

  it("a retry starts clean: new deadline, no retryAt, errorCode cleared", () => {
    const waiting = last(run([{ type: "notified", at: T0 }, report(T0 + 9, "failed", null, "E_X")]));
    expect(waiting.errorCode).toBe("E_X");
    const again = nextExecution(waiting, { type: "notified", at: T0 + 500 }, TARGET, DEFAULT_EXECUTION);
    expect(again).toEqual({ state: "notified", attempts: 2, errorCode: null, deadlineAt: T0 + 500 + 1_800, retryAt: null });
  });

  it("a retry can succeed", () => {
    const trail = run([{ type: "notified", at: T0 }, report(T0 + 9, "failed"), { type: "notified", at: T0 + 100 }, report(T0 + 150, "completed", TARGET)]);
    expect(last(trail)).toEqual({ state: "succeeded", attempts: 2, errorCode: null, deadlineAt: null, retryAt: null });
  });
});

describe("backoff (full jitter)", () => {
  const failAt = (e: Execution, at: number, random: () => number, s = DEFAULT_EXECUTION) => nextExecution(e, report(at, "failed"), TARGET, s, random);
  const notify = (e: Execution, at: number, s = DEFAULT_EXECUTION) => nextExecution(e, { type: "notified", at }, TARGET, s);

  it("retryAt = failure time + random × min(cap, base · 2^(attempt − 1)) seconds", () => {
    const first = failAt(notify(PENDING, T0), T0 + 10, () => 0.5);
    expect(first.retryAt).toBe(T0 + 10 + 15); // 0.5 × 30 s
    const second = failAt(notify(first, T0 + 100), T0 + 110, () => 0.5);
    expect(second.retryAt).toBe(T0 + 110 + 30); // 0.5 × 60 s
  });

  it("the injected random decides the delay", () => {
    const at = T0 + 10;
    expect(failAt(notify(PENDING, T0), at, () => 0.25).retryAt).toBe(at + 7.5);
    expect(failAt(notify(PENDING, T0), at, () => 0.999).retryAt).toBeCloseTo(at + 29.97, 6);
  });

  it("draws one random number per retry", () => {
    let calls = 0;
    failAt(notify(PENDING, T0), T0 + 10, () => (calls++, 0.3));
    expect(calls).toBe(1);
  });

  it("the delay stays within [0, cap] for any random in [0, 1), even for late attempts", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 20, retryBaseSec: 30, retryCapSec: 900 };
    let rng = 12345;
    const random = () => ((rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let e = PENDING;
    let at = T0;
    for (let attempt = 1; attempt <= 20; attempt++) {
      e = notify(e, at, s);
      e = failAt(e, at + 1, random, s);
      const delay = e.retryAt! - (at + 1);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.min(900, 30 * 2 ** (attempt - 1)));
      at = e.retryAt! + 1;
    }
  });

  it("random at its extremes: ~0 waits the one-second floor, ~1 stays under the cap", () => {
    const s = { ...DEFAULT_EXECUTION, maxRetries: 10 };
    let e = PENDING;
    for (let i = 0; i < 8; i++) e = failAt(notify(e, T0), T0, () => 0.5, s);
    expect(e.attempts).toBe(8);
    expect(failAt(notify(e, T0), T0, () => 0, s).retryAt).toBe(T0 + 1);
    const high = failAt(notify(e, T0), T0, () => 0.999_999_9, s).retryAt! - T0;
    expect(high).toBeLessThanOrEqual(900);
    expect(high).toBeGreaterThan(899);
  });
});

describe("cancel", () => {
  it.each(["pending", "notified", "in_progress", "retry_wait"] as ExecutionState[])("cancels from %s and clears the timers", (state) => {
    const e: Execution = { state, attempts: 1, errorCode: "E", deadlineAt: T0 + 5, retryAt: T0 + 6 };
    expect(nextExecution(e, { type: "cancel" }, TARGET, DEFAULT_EXECUTION, noRandom)).toEqual({ state: "cancelled", attempts: 1, errorCode: "E", deadlineAt: null, retryAt: null });
  });
});

describe("terminal states absorb every event", () => {
  const events: ExecutionEvent[] = [
    { type: "cancel" },
    { type: "notified", at: T0 },
    { type: "tick", at: T0 + 10 ** 9 },
    report(T0, "downloading"),
    report(T0, "completed", TARGET),
    report(T0, "failed", null, "E"),
  ];
  for (const state of ["succeeded", "failed", "timed_out", "cancelled"] as ExecutionState[]) {
    it(`${state} stays ${state}`, () => {
      const e: Execution = { state, attempts: 2, errorCode: state === "succeeded" ? null : "E", deadlineAt: null, retryAt: null };
      for (const event of events) expect(nextExecution(e, event, TARGET, DEFAULT_EXECUTION, noRandom)).toBe(e);
    });
  }
});

describe("reports outside an attempt are ignored", () => {
  it("while pending (not yet notified)", () => {
    for (const r of [report(T0, "downloading"), report(T0, "completed", TARGET), report(T0, "completed", "4.1.5"), report(T0, "failed", null, "E")]) {
      expect(nextExecution(PENDING, r, TARGET, DEFAULT_EXECUTION, noRandom)).toBe(PENDING);
    }
  });

  it("while waiting for a retry", () => {
    const waiting = last(run([{ type: "notified", at: T0 }, report(T0 + 9, "failed")]));
    expect(waiting.state).toBe("retry_wait");
    for (const r of [report(T0 + 10, "downloading"), report(T0 + 10, "completed", TARGET), report(T0 + 10, "failed")]) {
      expect(nextExecution(waiting, r, TARGET, DEFAULT_EXECUTION, noRandom)).toBe(waiting);
    }
  });
});
