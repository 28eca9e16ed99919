// Rollout input shapes, shared by the router, the launch wizard and the CLI.
import { z } from "zod";
import { isVersion } from "./version-rules.ts";
import { CronError, parseCron } from "./window-rules.ts";

const version = z.string().trim().refine(isVersion, "must be a semantic version, e.g. 4.2.1");
const names = z.array(z.string().trim().min(1).max(64)).max(200).default([]);

export const targetingSchema = z
  .object({
    regions: names,
    hardware: names,
    tags: names,
    versionMin: version.optional(),
    versionMax: version.optional(),
  })
  .default({ regions: [], hardware: [], tags: [] });
export type TargetingInput = z.infer<typeof targetingSchema>;

const pct = z.number().min(0).max(100);
export const strategySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("canary"), canaryPct: pct.refine((v) => v > 0, "must be above 0"), stagedPct: pct }),
  z.object({ kind: z.literal("equal"), waves: z.number().int().min(1).max(100) }),
  z.object({ kind: z.literal("explicit"), sizes: z.array(z.number().int().min(1)).min(1).max(100) }),
]);
export type StrategyInput = z.infer<typeof strategySchema>;

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const windowSchema = z.object({
  cron: z.string().trim().superRefine((value, ctx) => {
    try {
      parseCron(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof CronError ? err.message : "not a cron expression" });
    }
  }),
  durationMin: z.number().int().min(1).max(24 * 60),
  timeZone: z.string().trim().refine(validTimeZone, "unknown time zone"),
});

/** Every threshold of a rollout, with the defaults an engineer sees in the wizard. */
export const settingsSchema = z.object({
  /** Share of a wave's reachable devices that must succeed before the next wave starts. */
  successGate: z.number().min(0.01).max(1).default(0.9),
  /** Auto-pause above this failure rate of finished devices… */
  maxFailureRate: z.number().min(0).max(1).default(0.05),
  /** …once at least this many finished. */
  minSample: z.number().int().min(1).max(100_000).default(10),
  /** Pause earlier when even the 95% CI's lower bound exceeds the rate, from this many finished. */
  earlyMinSample: z.number().int().min(1).max(100_000).default(3),
  /** No advance while the CI's upper bound exceeds maxFailureRate × this. */
  advanceUpperFactor: z.number().min(1).max(100).default(2),
  timeoutMin: z.number().int().min(1).max(7 * 24 * 60).default(30),
  maxRetries: z.number().int().min(0).max(10).default(2),
  retryBaseSec: z.number().int().min(1).max(3600).default(30),
  retryCapSec: z.number().int().min(1).max(24 * 3600).default(15 * 60),
  /** Devices whose desired state is published per second. */
  ratePerSec: z.number().int().min(1).max(10_000).default(100),
  window: windowSchema.nullable().default(null),
});
export type RolloutSettings = z.infer<typeof settingsSchema>;
export const DEFAULT_SETTINGS: RolloutSettings = settingsSchema.parse({});

export const planInputSchema = z.object({
  firmwareId: z.string().uuid(),
  targeting: targetingSchema,
  strategy: strategySchema.default({ kind: "canary", canaryPct: 1, stagedPct: 10 }),
  /** Stable cohorts: the same seed gives the same waves. Defaults to the firmware id. */
  seed: z.string().trim().min(1).max(100).optional(),
});
export type PlanInput = z.infer<typeof planInputSchema>;

export const launchInputSchema = planInputSchema.extend({
  name: z.string().trim().min(1, "give the rollout a name").max(120),
  settings: settingsSchema.default(DEFAULT_SETTINGS),
  /** Ask another engineer to approve before start, whatever the size. */
  requireApproval: z.boolean().default(false),
});
export type LaunchInput = z.infer<typeof launchInputSchema>;

export const rolloutIdSchema = z.object({ id: z.string().uuid() });
export const reasonSchema = z.string().trim().max(500).optional();

// Outputs: what reaches the browser, and nothing else.
export const ROLLOUT_STATES = ["awaiting_approval", "running", "paused", "completed", "aborted"] as const;
export type RolloutStateName = (typeof ROLLOUT_STATES)[number];
export const WAVE_STATES = ["pending", "running", "passed", "completed", "aborted"] as const;

const waveCountsOutput = {
  size: z.number().int(),
  pending: z.number().int(),
  inProgress: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  timedOut: z.number().int(),
  offline: z.number().int(),
};

export const rolloutListOutput = z.object({
  total: z.number().int(),
  items: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: z.enum(ROLLOUT_STATES),
      pausedReason: z.string().nullable(),
      currentWave: z.number().int(),
      waveCount: z.number().int(),
      deviceCount: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      firmwareVersion: z.string(),
      deviceType: z.string(),
      requiresApproval: z.boolean(),
      createdBy: z.string(),
      createdAt: z.date(),
      startedAt: z.date().nullable(),
      finishedAt: z.date().nullable(),
    }),
  ),
});

export const rolloutDetailOutput = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(ROLLOUT_STATES),
  pausedReason: z.string().nullable(),
  pausedBy: z.string().nullable(),
  guardSince: z.date().nullable(),
  currentWave: z.number().int(),
  deviceCount: z.number().int(),
  requiresApproval: z.boolean(),
  createdById: z.string().nullable(),
  createdBy: z.string(),
  approvedBy: z.string().nullable(),
  approvedAt: z.date().nullable(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
  seed: z.string(),
  firmware: z.object({ id: z.string(), version: z.string(), deviceType: z.string(), sha256: z.string(), size: z.number().int() }),
  targeting: targetingSchema,
  strategy: strategySchema,
  settings: settingsSchema,
  gateText: z.string().nullable(),
  skipped: z.array(z.object({ reason: z.string(), count: z.number().int() })),
  waves: z.array(
    z.object({
      index: z.number().int(),
      state: z.enum(WAVE_STATES),
      ...waveCountsOutput,
      retrying: z.number().int(),
      finished: z.number().int(),
      successRate: z.number(),
      failureRate: z.number(),
      ciLower: z.number(),
      ciUpper: z.number(),
      startedAt: z.date().nullable(),
      gatePassedAt: z.date().nullable(),
    }),
  ),
});

export const executionListOutput = z.object({
  total: z.number().int(),
  items: z.array(
    z.object({
      deviceId: z.string(),
      wave: z.number().int(),
      state: z.string(),
      attempts: z.number().int(),
      errorCode: z.string().nullable(),
      lastStatus: z.string().nullable(),
      reportedVersion: z.string().nullable(),
      region: z.string(),
      hardwareVersion: z.string(),
      online: z.boolean(),
      lastSeenAt: z.date().nullable(),
      notifiedAt: z.date().nullable(),
      retryAt: z.date().nullable(),
      deadlineAt: z.date().nullable(),
      updatedAt: z.date(),
    }),
  ),
});

export const actionOutput = z.object({ id: z.string(), state: z.enum(ROLLOUT_STATES) });
