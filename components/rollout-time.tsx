/** The same text on the server and in the browser, whatever their time zones and locales. */
export function formatUtc(date: Date, { seconds = false }: { seconds?: boolean } = {}): string {
  return `${date.toISOString().slice(0, seconds ? 19 : 16).replace("T", " ")} UTC`;
}

/** A point in time, in UTC; "—" when it has not happened. */
export function Timestamp({ date, empty = "—", seconds = false }: { date: Date | null | undefined; empty?: string; seconds?: boolean }) {
  if (!date) return <span className="text-slate-400">{empty}</span>;
  return (
    <time dateTime={date.toISOString()} className="whitespace-nowrap tabular-nums">
      {formatUtc(date, { seconds })}
    </time>
  );
}

/** "45 s", "12 min", "3 h 5 min": durations in the preview's schedule estimate. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}
