"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { Badge } from "@/components/badge.tsx";
import { DataTable } from "@/components/data-table.tsx";
import { Pagination } from "@/components/pagination.tsx";
import { Timestamp } from "@/components/rollout-time.tsx";
import { EmptyState, ErrorState } from "@/components/states.tsx";

const AUDIT_COLUMNS = ["When", "Who", "Action", "Target", "Details"];

export function AuditView() {
  const trpc = useTRPC();
  const [page, setPage] = useState(1);
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const input = { page, pageSize: 50, action: action || undefined, actor: actor || undefined };
  const events = useQuery(trpc.audit.list.queryOptions(input, { placeholderData: keepPreviousData }));
  const verify = useQuery({ ...trpc.audit.verify.queryOptions(), enabled: false });

  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-baseline justify-between">
        <h1 className="text-lg font-semibold">Audit history</h1>
        <div className="flex items-center gap-2 text-xs">
          {verify.data ? (
            verify.data.brokenAtId ? (
              <Badge tone="bad">Chain broken at event #{verify.data.brokenAtId}</Badge>
            ) : (
              <Badge tone="good">Chain intact · {verify.data.checked.toLocaleString("en-US")} events</Badge>
            )
          ) : null}
          <button type="button" onClick={() => void verify.refetch()} disabled={verify.isFetching} className="rounded border border-slate-300 bg-white px-2 py-1 font-medium hover:bg-slate-50">
            {verify.isFetching ? "Verifying…" : "Verify chain"}
          </button>
        </div>
      </div>
      <div className="flex gap-3">
        <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
          Action
          <input aria-label="Filter by action" value={action} placeholder="e.g. device." onChange={(e) => { setAction(e.target.value); setPage(1); }} className="w-48 rounded border border-slate-300 px-2 py-1 text-sm font-normal" />
        </label>
        <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
          Actor
          <input aria-label="Filter by actor" value={actor} placeholder="email or name" onChange={(e) => { setActor(e.target.value); setPage(1); }} className="w-56 rounded border border-slate-300 px-2 py-1 text-sm font-normal" />
        </label>
      </div>
      {events.error ? (
        <ErrorState message={events.error.message} onRetry={() => void events.refetch()} />
      ) : events.data?.items.length === 0 ? (
        <EmptyState title="No audit events match" />
      ) : (
        <DataTable label="Audit events" columns={AUDIT_COLUMNS} rows={events.data?.items} loading={events.isPending}>
          {(e) => (
            <tr key={e.id}>
              <td className="whitespace-nowrap px-3 py-1.5 text-xs text-slate-600"><Timestamp date={e.at} seconds /></td>
              <td className="px-3 py-1.5"><Badge>{e.actorType}</Badge> {e.actorLabel}</td>
              <td className="px-3 py-1.5 font-mono text-xs">{e.action}</td>
              <td className="px-3 py-1.5 text-xs">{e.targetType ? `${e.targetType} ${e.targetId ?? ""}` : "—"}</td>
              <td className="max-w-md truncate px-3 py-1.5 font-mono text-xs text-slate-600" title={JSON.stringify(e.data)}>
                {e.reason ? `${e.reason} · ` : ""}{JSON.stringify(e.data)}
              </td>
            </tr>
          )}
        </DataTable>
      )}
      {events.data ? <Pagination page={events.data.page} pageSize={events.data.pageSize} total={events.data.total} onPage={setPage} label="events" /> : null}
    </div>
  );
}
