import { z } from "zod";
import { prisma } from "@/server/db/client.ts";
import { router, authedProcedure, permissionProcedure } from "@/server/trpc/init.ts";
import { permissionsOf, type Permission } from "@/server/auth/permissions.ts";
import { roleSchema } from "@/server/auth/schema.ts";
import { createUser, revokeUserSessions, setUserDisabled, setUserRole } from "./mutations.ts";
import { createUserInput, setDisabledInput, setRoleInput, userIdInput, userRowSchema } from "./schema.ts";

const meOutput = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  permissions: z.array(z.string()),
});

function toRow(u: { id: string; email: string; name: string; role: z.infer<typeof roleSchema>; disabledAt: Date | null; passwordHash: string | null; lastLoginAt: Date | null; createdAt: Date }) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabledAt !== null, hasPassword: u.passwordHash !== null, lastLoginAt: u.lastLoginAt, createdAt: u.createdAt };
}

export const usersRouter = router({
  me: authedProcedure
    .input(z.void())
    .output(meOutput)
    .query(({ ctx }) => ({ ...ctx.user, permissions: permissionsOf(ctx.user.role) as Permission[] })),

  list: permissionProcedure("user:manage")
    .input(z.void())
    .output(z.array(userRowSchema))
    .query(async () => (await prisma.user.findMany({ orderBy: [{ role: "asc" }, { email: "asc" }] })).map(toRow)),

  create: permissionProcedure("user:manage")
    .input(createUserInput)
    .output(userRowSchema)
    .mutation(async ({ ctx, input }) => toRow(await createUser(input, { type: "user", id: ctx.user.id, label: ctx.user.email }))),

  setRole: permissionProcedure("user:manage")
    .input(setRoleInput)
    .output(userRowSchema)
    .mutation(async ({ ctx, input }) => toRow(await setUserRole(input.userId, input.role, { type: "user", id: ctx.user.id, label: ctx.user.email }))),

  revokeSessions: permissionProcedure("user:manage")
    .input(userIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await revokeUserSessions(input.userId, { type: "user", id: ctx.user.id, label: ctx.user.email });
      return { ok: true as const };
    }),

  setDisabled: permissionProcedure("user:manage")
    .input(setDisabledInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await setUserDisabled(input.userId, input.disabled, { type: "user", id: ctx.user.id, label: ctx.user.email });
      return { ok: true as const };
    }),
});
