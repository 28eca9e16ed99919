export type ConnectionState = "connecting" | "live" | "reconnecting" | "signed-out";

const STYLES: Record<ConnectionState, { dot: string; label: string }> = {
  connecting: { dot: "bg-slate-400", label: "Connecting…" },
  live: { dot: "bg-emerald-500", label: "Live" },
  reconnecting: { dot: "bg-amber-500 animate-pulse", label: "Reconnecting…" },
  "signed-out": { dot: "bg-red-500", label: "Session ended" },
};

export function ConnectionIndicator({ state }: { state: ConnectionState }) {
  const style = STYLES[state];
  return (
    <span role="status" aria-label={`Live updates: ${style.label}`} className="inline-flex items-center gap-1.5 text-xs text-slate-600">
      <span aria-hidden className={`h-2 w-2 rounded-full ${style.dot}`} />
      {style.label}
    </span>
  );
}
