import { prisma } from "@/server/db/client.ts";
import type { Prisma } from "@/server/db/generated/client.ts";
import { findBrokenLink, GENESIS_HASH } from "./rules.ts";

export type AuditListInput = { page: number; pageSize: number; action?: string; actor?: string; targetId?: string };

export async function listAuditEvents(input: AuditListInput) {
  const where: Prisma.AuditEventWhereInput = {
    ...(input.action ? { action: { startsWith: input.action } } : {}),
    ...(input.actor ? { actorLabel: { contains: input.actor, mode: "insensitive" as const } } : {}),
    ...(input.targetId ? { targetId: input.targetId } : {}),
  };
  const [rows, total] = await Promise.all([
    prisma.auditEvent.findMany({ where, orderBy: { id: "desc" }, skip: (input.page - 1) * input.pageSize, take: input.pageSize }),
    prisma.auditEvent.count({ where }),
  ]);
  return {
    items: rows.map((r) => ({
      id: r.id.toString(),
      at: r.at,
      actorType: r.actorType,
      actorLabel: r.actorLabel,
      action: r.action,
      targetType: r.targetType,
      targetId: r.targetId,
      reason: r.reason,
      data: r.data as Record<string, unknown>,
    })),
    total,
    page: input.page,
    pageSize: input.pageSize,
  };
}

/** Re-walks the whole chain in pages; returns the first broken event id, if any. */
export async function verifyAuditChain(): Promise<{ checked: number; brokenAtId: string | null }> {
  let prev = GENESIS_HASH;
  let cursor: bigint | undefined;
  let checked = 0;
  for (;;) {
    const page = await prisma.auditEvent.findMany({
      where: cursor === undefined ? {} : { id: { gt: cursor } },
      orderBy: { id: "asc" },
      take: 5000,
    });
    if (page.length === 0) return { checked, brokenAtId: null };
    const broken = findBrokenLink(page, prev);
    if (broken !== null) return { checked: checked + page.findIndex((e) => e.id === broken), brokenAtId: broken.toString() };
    checked += page.length;
    prev = page[page.length - 1]!.hash;
    cursor = page[page.length - 1]!.id;
  }
}
