"use client";
import { useEffect, useState } from "react";
import { formatUtc } from "./rollout-time.tsx";

/**
 * The browser's clock, ticking every `intervalMs`; null on the server and
 * during hydration. Text computed from "now" differs between the server's
 * render and the browser's, so it waits for this to be set.
 */
export function useNow(intervalMs = 15_000): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** "12 s ago", "5 min ago", "3 h ago"; the date after a day. */
export function formatAgo(date: Date, now: number): string {
  const sec = Math.round((now - date.getTime()) / 1000);
  if (sec < 60) return `${Math.max(sec, 0)} s ago`;
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return date.toISOString().slice(0, 10);
}

/** How long ago, once the browser's clock is known; until then (and on the server) the time in UTC. */
export function TimeAgo({ date, now, empty = "never" }: { date: Date | null; now: number | null; empty?: string }) {
  if (!date) return <>{empty}</>;
  return (
    <time dateTime={date.toISOString()} title={formatUtc(date)} className="whitespace-nowrap">
      {now === null ? formatUtc(date) : formatAgo(date, now)}
    </time>
  );
}
