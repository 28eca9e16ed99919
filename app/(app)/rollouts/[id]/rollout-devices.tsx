"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useCallback, useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { Badge } from "@/components/badge.tsx";
import { Pagination } from "@/components/pagination.tsx";
import { RolloutDeviceTable } from "@/components/rollout-device-table.tsx";
import { EXECUTION_STATE_LABELS } from "@/components/rollout-state-badge.tsx";
import { EmptyState, ErrorState } from "@/components/states.tsx";
import { devicesFilterFromParams, devicesInput, EXECUTION_STATES, FAILING_LIMIT, failingInput, paramsFromDevicesFilter, RUNNING_REFRESH_MS, type DevicesFilter } from "./params.ts";

const select = "min-w-32 rounded border border-slate-300 bg-white px-2 py-1 text-sm font-normal text-slate-900";

/** Failed, timed-out and retrying devices, most recently changed first. */
export function FailingDevices({ rolloutId, running }: { rolloutId: string; running: boolean }) {
  const trpc = useTRPC();
  const failing = useQuery(trpc.rollouts.devices.queryOptions(failingInput(rolloutId), { refetchInterval: running ? RUNNING_REFRESH_MS : false }));
  const total = failing.data?.total ?? 0;
  return (
    <section aria-labelledby="failing-title" className="flex flex-col gap-2">
      <div className="flex items-center gap-2">
        <h2 id="failing-title" className="text-sm font-semibold">
          Failing devices
        </h2>
        {failing.data ? <Badge tone={total > 0 ? "bad" : "good"}>{total > 0 ? `${total.toLocaleString("en-US")} failing` : "✓ none"}</Badge> : null}
      </div>
      {failing.error ? (
        <ErrorState message={failing.error.message} onRetry={() => void failing.refetch()} />
      ) : failing.data && total === 0 ? (
        <p className="text-xs text-slate-500">No device has failed, timed out or is waiting to retry.</p>
      ) : (
        <>
          <RolloutDeviceTable label="Failing devices" rows={failing.data?.items} loading={failing.isPending} />
          {total > FAILING_LIMIT ? (
            <p className="text-xs text-slate-500">
              The {FAILING_LIMIT} most recently changed of {total.toLocaleString("en-US")}. Filter the devices below by state to page through all of them.
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

/** Every device of the rollout, filtered by wave and state; the filter is kept in the URL. */
export function RolloutDevices({ rolloutId, waveCount, running }: { rolloutId: string; waveCount: number; running: boolean }) {
  const trpc = useTRPC();
  const searchParams = useSearchParams();
  const [filter, setFilter] = useState<DevicesFilter>(() => devicesFilterFromParams(searchParams));
  const update = useCallback((patch: Partial<DevicesFilter>) => {
    setFilter((prev) => {
      const next = { ...prev, ...patch, page: patch.page ?? 1 };
      const qs = paramsFromDevicesFilter(next).toString();
      window.history.replaceState(null, "", qs ? `?${qs}` : window.location.pathname);
      return next;
    });
  }, []);
  const input = devicesInput(rolloutId, filter);
  const devices = useQuery(trpc.rollouts.devices.queryOptions(input, { placeholderData: keepPreviousData, refetchInterval: running ? RUNNING_REFRESH_MS : false }));

  return (
    <section aria-labelledby="devices-title" className="flex flex-col gap-2">
      <h2 id="devices-title" className="text-sm font-semibold">
        Devices
      </h2>
      <div role="group" aria-label="Device filters" className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
          Wave
          <select aria-label="Wave" value={filter.wave ?? ""} onChange={(e) => update({ wave: e.target.value === "" ? undefined : Number(e.target.value) })} className={select}>
            <option value="">All waves</option>
            {Array.from({ length: waveCount }, (_, i) => (
              <option key={i} value={i}>
                Wave {i + 1}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
          State
          <select aria-label="State" value={filter.state ?? ""} onChange={(e) => update({ state: (e.target.value || undefined) as DevicesFilter["state"] })} className={select}>
            <option value="">All states</option>
            {EXECUTION_STATES.map((s) => (
              <option key={s} value={s}>
                {EXECUTION_STATE_LABELS[s] ?? s}
              </option>
            ))}
          </select>
        </label>
      </div>
      {devices.error ? (
        <ErrorState message={devices.error.message} onRetry={() => void devices.refetch()} />
      ) : devices.data?.total === 0 ? (
        <EmptyState title="No devices match">Choose another wave or state.</EmptyState>
      ) : (
        <RolloutDeviceTable label="Rollout devices" rows={devices.data?.items} loading={devices.isPending} />
      )}
      {devices.data && devices.data.total > 0 ? (
        <Pagination page={filter.page} pageSize={input.pageSize} total={devices.data.total} onPage={(page) => update({ page })} label="devices" />
      ) : null}
    </section>
  );
}
