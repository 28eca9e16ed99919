import { z } from "zod";
import { router, permissionProcedure } from "@/server/trpc/init.ts";
import { listAuditEvents, verifyAuditChain } from "./data.ts";

const auditListInput = z.object({
  page: z.number().int().min(1).default(1),
  pageSize: z.number().int().min(10).max(200).default(50),
  action: z.string().trim().max(64).optional(),
  actor: z.string().trim().max(254).optional(),
  targetId: z.string().trim().max(128).optional(),
});

const auditEventSchema = z.object({
  id: z.string(),
  at: z.date(),
  actorType: z.string(),
  actorLabel: z.string(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  reason: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});

export const auditRouter = router({
  list: permissionProcedure("audit:read")
    .input(auditListInput)
    .output(z.object({ items: z.array(auditEventSchema), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() }))
    .query(({ input }) => listAuditEvents(input)),

  verify: permissionProcedure("audit:read")
    .input(z.void())
    .output(z.object({ checked: z.number().int(), brokenAtId: z.string().nullable() }))
    .query(() => verifyAuditChain()),
});
