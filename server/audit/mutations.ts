import type pg from "pg";
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
  const content = contentOf(input);
  return tx.auditEvent.create({
    data: { ...content, data: content.data as Prisma.InputJsonValue, prevHash, hash: auditHash(prevHash, content) },
  });
}

function contentOf(input: AuditInput): AuditContent {
  return {
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
}

/**
 * The same append for code that holds a node-postgres transaction rather than
 * a Prisma one (the rollout controller writes desired state through pg).
 */
export async function recordAuditSql(client: Pick<pg.ClientBase, "query">, input: AuditInput): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock($1)", [AUDIT_CHAIN_LOCK]);
  const { rows } = await client.query<{ hash: string }>("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1");
  const prevHash = rows[0]?.hash ?? GENESIS_HASH;
  const c = contentOf(input);
  await client.query(
    `INSERT INTO audit_events (at, actor_type, actor_id, actor_label, action, target_type, target_id, reason, data, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)`,
    [c.at, c.actorType, c.actorId, c.actorLabel, c.action, c.targetType, c.targetId, c.reason, JSON.stringify(c.data), prevHash, auditHash(prevHash, c)],
  );
}

/** For an action with nothing else to commit alongside it. */
export async function recordAuditNow(input: AuditInput) {
  return prisma.$transaction((tx) => recordAudit(tx, input));
}
