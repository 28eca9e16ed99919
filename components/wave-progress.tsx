// Progress of a wave (or a whole rollout) as bars. The bars are pictures of
// numbers that are always printed beside them, so they are hidden from
// screen readers or carry the numbers in their label.

export type WaveCounts = { size: number; pending: number; inProgress: number; succeeded: number; failed: number; timedOut: number; offline: number };

/** Devices of a wave in no counted state: executions cancelled by an abort. */
export function cancelledOf(c: WaveCounts): number {
  return Math.max(0, c.size - c.pending - c.inProgress - c.succeeded - c.failed - c.timedOut);
}

export const SEGMENTS = [
  { key: "succeeded", label: "Succeeded", colour: "bg-emerald-500" },
  { key: "failed", label: "Failed", colour: "bg-red-600" },
  { key: "timedOut", label: "Timed out", colour: "bg-orange-400" },
  { key: "inProgress", label: "In progress", colour: "bg-sky-400" },
  { key: "pending", label: "Pending", colour: "bg-slate-300" },
  { key: "cancelled", label: "Cancelled", colour: "bg-slate-500" },
] as const;

export type SegmentKey = (typeof SEGMENTS)[number]["key"];

export function segmentValues(c: WaveCounts): Record<SegmentKey, number> {
  return { succeeded: c.succeeded, failed: c.failed, timedOut: c.timedOut, inProgress: c.inProgress, pending: c.pending, cancelled: cancelledOf(c) };
}

export function WaveProgressBar({ counts, label }: { counts: WaveCounts; label: string }) {
  const values = segmentValues(counts);
  const total = Math.max(counts.size, 1);
  const words = SEGMENTS.filter((s) => values[s.key] > 0)
    .map((s) => `${values[s.key].toLocaleString("en-US")} ${s.label.toLowerCase()}`)
    .join(", ");
  return (
    <div role="img" aria-label={`${label}: ${words || "no devices"}`} className="flex h-2.5 w-full overflow-hidden rounded-sm bg-slate-100">
      {SEGMENTS.map((s) =>
        values[s.key] > 0 ? <div key={s.key} className={s.colour} style={{ width: `${(values[s.key] / total) * 100}%` }} title={`${s.label}: ${values[s.key].toLocaleString("en-US")}`} /> : null,
      )}
    </div>
  );
}

/** A thin bar for table rows: succeeded and failed out of all devices. */
export function ThinProgress({ succeeded, failed, total }: { succeeded: number; failed: number; total: number }) {
  const of = Math.max(total, 1);
  return (
    <div aria-hidden className="flex h-1 w-28 overflow-hidden rounded-full bg-slate-200">
      <div className="bg-emerald-500" style={{ width: `${(succeeded / of) * 100}%` }} />
      <div className="bg-red-600" style={{ width: `${(failed / of) * 100}%` }} />
    </div>
  );
}

/** A colour key square, beside the word it stands for. */
export function Swatch({ colour }: { colour: string }) {
  return <span aria-hidden className={`inline-block h-2 w-2 shrink-0 rounded-sm ${colour}`} />;
}
