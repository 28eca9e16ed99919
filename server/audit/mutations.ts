import { prisma } from "@/server/db/client.ts";
import type { Prisma } from "@/server/db/generated/client.ts";
import { auditHash, GENESIS_HASH, type AuditContent } from "./rules.ts";

export type Actor =
  | { type: "user"; id: string; label: string }
  | { type: "cli"; id: string | null; label: string }
  | { type: "system"; label: string };

export type AuditInput = {
  actor: Actor;
  action: string;
  target?: { type: string; id: string };
  reason?: string;
  data?: Record<string, unknown>;
};

type Tx = Prisma.TransactionClient;

// One lock id for the chain: appends are serialised so each row links to the
// one before it. Audit writes are rare (people's actions, controller decisions).
const AUDIT_CHAIN_LOCK = 0x6177_6175; // "awau"

/** Appends to the audit chain inside the caller's transaction, so the event commits with the change it records. */
export async function recordAudit(tx: Tx, input: AuditInput) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`;
  const last = await tx.auditEvent.findFirst({ orderBy: { id: "desc" }, select: { hash: true } });
  const prevHash = last?.hash ?? GENESIS_HASH;
  const content: AuditContent = {
    at: new Date(Math.floor(Date.now())),
    actorType: input.actor.type,
    actorId: input.actor.type === "system" ? null : input.actor.id,
    actorLabel: input.actor.label,
    action: input.action,
    targetType: input.target?.type ?? null,
    targetId: input.target?.id ?? null,
    reason: input.reason ?? null,
    data: input.data ?? {},
  };
  return tx.auditEvent.create({
    data: { ...content, data: content.data as Prisma.InputJsonValue, prevHash, hash: auditHash(prevHash, content) },
  });
}

/** For an action with nothing else to commit alongside it. */
export async function recordAuditNow(input: AuditInput) {
  return prisma.$transaction((tx) => recordAudit(tx, input));
}
