import { Badge } from "./badge.tsx";

/** Outcome of a device message, by colour and by word (and the rejection code). */
export function EventOutcomeBadge({ outcome, code }: { outcome: string; code: string | null }) {
  if (outcome === "accepted") return <Badge tone="good">✓ accepted</Badge>;
  if (outcome === "duplicate") return <Badge tone="info">↺ duplicate</Badge>;
  if (outcome === "rejected") return <Badge tone="bad">✕ {code ?? "rejected"}</Badge>;
  return <Badge>{outcome}</Badge>;
}
