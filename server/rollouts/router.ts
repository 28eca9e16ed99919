import { z } from "zod";
import { router, permissionProcedure } from "@/server/trpc/init.ts";
import type { Actor } from "@/server/audit/mutations.ts";
import type { SessionUser } from "@/server/auth/session.ts";
import { getPool } from "@/server/db/client.ts";
import { getRollout, listExecutions, listRollouts } from "./data.ts";
import { abortRollout, advanceWave, approveRollout, launchRollout, pauseRollout, resumeRollout, retryFailed } from "./mutations.ts";
import { planFor, previewOf } from "./plan-data.ts";
import { EXECUTION_STATES } from "./execution-rules.ts";
import {
  actionOutput,
  executionListOutput,
  launchInputSchema,
  planInputSchema,
  reasonSchema,
  rolloutDetailOutput,
  rolloutIdSchema,
  rolloutListOutput,
  ROLLOUT_STATES,
  settingsSchema,
} from "./schema.ts";

const actorOf = (user: SessionUser): Actor => ({ type: "user", id: user.id, label: user.email });

export const rolloutsRouter = router({
  list: permissionProcedure("fleet:read")
    .input(z.object({ page: z.number().int().min(1).default(1), pageSize: z.number().int().min(1).max(100).default(20), state: z.enum(ROLLOUT_STATES).optional() }))
    .output(rolloutListOutput)
    .query(({ input }) => listRollouts(input)),

  get: permissionProcedure("fleet:read").input(rolloutIdSchema).output(rolloutDetailOutput).query(({ input }) => getRollout(input.id)),

  devices: permissionProcedure("fleet:read")
    .input(
      rolloutIdSchema.extend({
        page: z.number().int().min(1).default(1),
        pageSize: z.number().int().min(1).max(200).default(50),
        wave: z.number().int().min(0).optional(),
        states: z.array(z.enum(EXECUTION_STATES)).max(8).optional(),
      }),
    )
    .output(executionListOutput)
    .query(({ input }) => listExecutions(input)),

  preview: permissionProcedure("rollout:launch")
    .input(planInputSchema.extend({ settings: settingsSchema.pick({ ratePerSec: true }).default({ ratePerSec: 100 }), requireApproval: z.boolean().default(false) }))
    .query(async ({ input }) => previewOf(await planFor(getPool(), input, input.requireApproval), input.settings)),

  launch: permissionProcedure("rollout:launch")
    .input(launchInputSchema)
    .output(actionOutput)
    .mutation(({ ctx, input }) => launchRollout(input, actorOf(ctx.user))),

  approve: permissionProcedure("rollout:launch").input(rolloutIdSchema).output(actionOutput)
    .mutation(({ ctx, input }) => approveRollout(input.id, actorOf(ctx.user))),

  pause: permissionProcedure("rollout:pause")
    .input(rolloutIdSchema.extend({ reason: reasonSchema }))
    .output(actionOutput)
    .mutation(({ ctx, input }) => pauseRollout(input.id, actorOf(ctx.user), input.reason)),

  resume: permissionProcedure("rollout:pause")
    .input(rolloutIdSchema.extend({ reason: reasonSchema }))
    .output(actionOutput)
    .mutation(({ ctx, input }) => resumeRollout(input.id, actorOf(ctx.user), input.reason)),

  abort: permissionProcedure("rollout:launch")
    .input(rolloutIdSchema.extend({ revert: z.boolean().default(false), reason: reasonSchema }))
    .output(actionOutput)
    .mutation(({ ctx, input }) => abortRollout(input.id, actorOf(ctx.user), { revert: input.revert, reason: input.reason })),

  advance: permissionProcedure("rollout:launch")
    .input(rolloutIdSchema.extend({ reason: reasonSchema }))
    .output(actionOutput)
    .mutation(({ ctx, input }) => advanceWave(input.id, actorOf(ctx.user), input.reason)),

  retryFailed: permissionProcedure("rollout:launch").input(rolloutIdSchema).output(actionOutput)
    .mutation(({ ctx, input }) => retryFailed(input.id, actorOf(ctx.user))),
});
