"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { EventOutcomeBadge } from "@/components/event-badge.tsx";
import { EmptyState, ErrorState } from "@/components/states.tsx";

function summary(payload: unknown): string {
  const text = JSON.stringify(payload);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

export function EventTimeline({ deviceId, outcome }: { deviceId: string; outcome?: "accepted" | "duplicate" | "rejected" }) {
  const trpc = useTRPC();
  // Older pages are fetched by cursor; the newest page stays live.
  const [before, setBefore] = useState<Date[]>([]);
  const cursor = before[before.length - 1];
  const events = useQuery(trpc.shadow.events.queryOptions({ deviceId, limit: 50, outcome, before: cursor }));

  if (events.error) return <ErrorState message={events.error.message} onRetry={() => void events.refetch()} />;
  const items = events.data?.items ?? [];
  if (!events.isPending && items.length === 0 && before.length === 0) {
    return <EmptyState title="No events yet">Events appear here as the device reports, accepted or rejected.</EmptyState>;
  }
  return (
    <div className="flex flex-col gap-2">
      <div className="overflow-x-auto rounded border border-slate-200 bg-white">
        <table className="w-full text-left text-xs" aria-label="Device events">
          <thead className="border-b border-slate-200 bg-slate-50 text-slate-600">
            <tr>
              <th scope="col" className="px-3 py-1.5">Server time (UTC)</th>
              <th scope="col" className="px-3 py-1.5">Message</th>
              <th scope="col" className="px-3 py-1.5">Outcome</th>
              <th scope="col" className="px-3 py-1.5">Seq</th>
              <th scope="col" className="px-3 py-1.5">Version</th>
              <th scope="col" className="px-3 py-1.5">Skew</th>
              <th scope="col" className="px-3 py-1.5">Payload</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {items.map((e, i) => (
              <tr key={`${e.serverTime.getTime()}-${i}`}>
                <td className="whitespace-nowrap px-3 py-1 text-slate-600" title={e.deviceTime ? `device time ${e.deviceTime.toISOString()}` : undefined}>
                  <time dateTime={e.serverTime.toISOString()}>{e.serverTime.toISOString().slice(11, 23)}</time>
                </td>
                <td className="px-3 py-1 font-mono">{e.kind}</td>
                <td className="px-3 py-1"><EventOutcomeBadge outcome={e.outcome} code={e.code} /></td>
                <td className="px-3 py-1 tabular-nums">{e.seq ?? "—"}</td>
                <td className="px-3 py-1 tabular-nums">{e.version ?? "—"}{e.acceptedVersion !== null && e.acceptedVersion !== e.version ? ` → ${e.acceptedVersion}` : ""}</td>
                <td className="px-3 py-1 tabular-nums">{e.clockSkewSec === null ? "—" : `${e.clockSkewSec.toFixed(1)} s`}</td>
                <td className="max-w-lg truncate px-3 py-1 font-mono text-slate-600" title={JSON.stringify(e.payload)}>{summary(e.payload)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="flex gap-2 text-xs">
        {before.length > 0 ? (
          <button type="button" className="rounded border border-slate-300 bg-white px-2 py-1 hover:bg-slate-50" onClick={() => setBefore([])}>
            Newest
          </button>
        ) : null}
        {events.data?.nextBefore ? (
          <button type="button" className="rounded border border-slate-300 bg-white px-2 py-1 hover:bg-slate-50" onClick={() => setBefore((b) => [...b, events.data!.nextBefore!])}>
            Older events
          </button>
        ) : null}
      </div>
    </div>
  );
}
