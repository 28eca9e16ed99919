// The audit chain: each event's hash covers its content and the previous
// event's hash, so editing or deleting a row is detectable by re-walking it.
import { createHash } from "node:crypto";

export const GENESIS_HASH = "0".repeat(64);

export type AuditContent = {
  at: Date;
  actorType: string;
  actorId: string | null;
  actorLabel: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  reason: string | null;
  data: unknown;
};

/** JSON with sorted keys, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** Only the content fields are hashed, whatever else the row carries (id, hashes). */
export function auditHash(prevHash: string, c: AuditContent): string {
  const content: AuditContent = {
    at: c.at,
    actorType: c.actorType,
    actorId: c.actorId,
    actorLabel: c.actorLabel,
    action: c.action,
    targetType: c.targetType,
    targetId: c.targetId,
    reason: c.reason,
    data: c.data,
  };
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(content)).digest("hex");
}

/** Walks events in id order; returns the id of the first broken link, or null. */
export function findBrokenLink(
  events: Array<AuditContent & { id: bigint; prevHash: string; hash: string }>,
  startHash = GENESIS_HASH,
): bigint | null {
  let prev = startHash;
  for (const event of events) {
    if (event.prevHash !== prev || auditHash(prev, event) !== event.hash) return event.id;
    prev = event.hash;
  }
  return null;
}
