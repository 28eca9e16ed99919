"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useCallback, useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { Pagination } from "@/components/pagination.tsx";
import { ROLLOUT_STATE_LABELS } from "@/components/rollout-state-badge.tsx";
import { EmptyState, ErrorState } from "@/components/states.tsx";
import { paramsFromRolloutListInput, ROLLOUT_STATES, rolloutListInputFromParams, type RolloutListInput } from "./params.ts";
import { useRolloutListLive } from "./rollout-live.ts";
import { RolloutTable } from "./rollout-table.tsx";

/** While a listed rollout runs, its counts move between live events too; this bounds how stale they get. */
const RUNNING_REFRESH_MS = 10_000;

export function RolloutsView({ canLaunch }: { canLaunch: boolean }) {
  const trpc = useTRPC();
  const searchParams = useSearchParams();
  const [input, setInput] = useState<RolloutListInput>(() => rolloutListInputFromParams(searchParams));
  useRolloutListLive();

  const update = useCallback((patch: Partial<RolloutListInput>) => {
    setInput((prev) => {
      const next = { ...prev, ...patch, page: patch.page ?? 1 };
      const qs = paramsFromRolloutListInput(next).toString();
      window.history.replaceState(null, "", qs ? `?${qs}` : window.location.pathname);
      return next;
    });
  }, []);

  const list = useQuery(
    trpc.rollouts.list.queryOptions(input, {
      placeholderData: keepPreviousData,
      refetchInterval: (query) => (query.state.data?.items.some((r) => r.state === "running") ? RUNNING_REFRESH_MS : false),
    }),
  );
  const empty = list.data?.items.length === 0;

  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-baseline justify-between">
        <h1 className="text-lg font-semibold">Rollouts</h1>
        {canLaunch ? (
          <Link href="/rollouts/new" className="rounded bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800">
            New rollout
          </Link>
        ) : null}
      </div>

      <section aria-label="Filters" className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
          State
          <select
            aria-label="State"
            value={input.state ?? ""}
            onChange={(e) => update({ state: (e.target.value || undefined) as RolloutListInput["state"] })}
            className="min-w-40 rounded border border-slate-300 bg-white px-2 py-1 text-sm font-normal text-slate-900"
          >
            <option value="">All</option>
            {ROLLOUT_STATES.map((s) => (
              <option key={s} value={s}>
                {ROLLOUT_STATE_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
      </section>

      {list.error ? (
        <ErrorState message={list.error.message} onRetry={() => void list.refetch()} />
      ) : empty && !input.state ? (
        <EmptyState title="No rollouts yet">
          {canLaunch ? (
            <>
              Start one with{" "}
              <Link href="/rollouts/new" className="text-sky-700 hover:underline">
                New rollout
              </Link>
              .
            </>
          ) : (
            "Engineers launch rollouts; they appear here as soon as they start."
          )}
        </EmptyState>
      ) : empty ? (
        <EmptyState title={`No rollouts in state “${ROLLOUT_STATE_LABELS[input.state!]}”`}>Choose another state, or show all.</EmptyState>
      ) : (
        <RolloutTable rows={list.data?.items} loading={list.isPending} />
      )}
      {list.data && !empty ? <Pagination page={input.page} pageSize={input.pageSize} total={list.data.total} onPage={(page) => update({ page })} label="rollouts" /> : null}
    </div>
  );
}
