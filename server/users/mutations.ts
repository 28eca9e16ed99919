import { prisma } from "@/server/db/client.ts";
import { AppError } from "@/server/errors.ts";
import { recordAudit, type Actor } from "@/server/audit/mutations.ts";
import { hashPassword } from "@/server/auth/password.ts";
import type { Role } from "@/server/auth/permissions.ts";

export async function createUser(input: { email: string; name: string; role: Role; password: string }, actor: Actor) {
  const existing = await prisma.user.findUnique({ where: { email: input.email }, select: { id: true } });
  if (existing) throw new AppError("CONFLICT", `A user with email ${input.email} already exists.`, { email: ["Already in use."] });
  const passwordHash = await hashPassword(input.password);
  return prisma.$transaction(async (tx) => {
    const user = await tx.user.create({ data: { email: input.email, name: input.name, role: input.role, passwordHash } });
    await recordAudit(tx, { actor, action: "user.create", target: { type: "user", id: user.id }, data: { email: user.email, role: user.role } });
    return user;
  });
}

async function requireUser(userId: string) {
  const user = await prisma.user.findUnique({ where: { id: userId } });
  if (!user) throw new AppError("NOT_FOUND", "No such user.");
  return user;
}

/** A role change also ends the user's sessions, so nobody keeps a view the new role may not have. */
export async function setUserRole(userId: string, role: Role, actor: Actor & { type: "user" }) {
  const user = await requireUser(userId);
  if (user.id === actor.id && role !== "admin") {
    throw new AppError("PRECONDITION_FAILED", "You cannot remove your own admin role; ask another admin.");
  }
  return prisma.$transaction(async (tx) => {
    const updated = await tx.user.update({ where: { id: userId }, data: { role, sessionVersion: { increment: 1 } } });
    await recordAudit(tx, { actor, action: "user.set_role", target: { type: "user", id: userId }, data: { from: user.role, to: role } });
    return updated;
  });
}

export async function revokeUserSessions(userId: string, actor: Actor) {
  await requireUser(userId);
  await prisma.$transaction(async (tx) => {
    await tx.user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } } });
    await recordAudit(tx, { actor, action: "user.revoke_sessions", target: { type: "user", id: userId } });
  });
}

export async function setUserDisabled(userId: string, disabled: boolean, actor: Actor & { type: "user" }) {
  await requireUser(userId);
  if (userId === actor.id && disabled) throw new AppError("PRECONDITION_FAILED", "You cannot disable your own account.");
  await prisma.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: userId },
      data: { disabledAt: disabled ? new Date() : null, sessionVersion: { increment: 1 } },
    });
    await recordAudit(tx, { actor, action: disabled ? "user.disable" : "user.enable", target: { type: "user", id: userId } });
  });
}
