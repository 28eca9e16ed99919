"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { SelectFilter } from "@/components/select-filter.tsx";
import { Pagination } from "@/components/pagination.tsx";
import { ErrorState } from "@/components/states.tsx";
import { FirmwareChart } from "@/components/firmware-chart.tsx";
import type { DeviceListInput } from "@/server/devices/schema.ts";
import { fleetInputFromParams, paramsFromFleetInput, summaryInputOf } from "./params.ts";
import { DeviceTable } from "./device-table.tsx";

function Stat({ label, value, tone }: { label: string; value: number | undefined; tone?: string }) {
  return (
    <div className="rounded border border-slate-200 bg-white px-3 py-2">
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className={`text-lg font-semibold tabular-nums ${tone ?? ""}`}>{value === undefined ? "—" : value.toLocaleString("en-US")}</dd>
    </div>
  );
}

export function FleetView() {
  const trpc = useTRPC();
  const searchParams = useSearchParams();
  const [input, setInput] = useState<DeviceListInput>(() => fleetInputFromParams(searchParams));
  const [searchText, setSearchText] = useState(input.search ?? "");

  const update = useCallback((patch: Partial<DeviceListInput>) => {
    setInput((prev) => {
      const next = { ...prev, ...patch, page: patch.page ?? 1 };
      const qs = paramsFromFleetInput(next).toString();
      window.history.replaceState(null, "", qs ? `?${qs}` : window.location.pathname);
      return next;
    });
  }, []);

  // Search as you type, without a request per keystroke.
  useEffect(() => {
    const value = searchText.trim() || undefined;
    if (value === input.search) return;
    const timer = setTimeout(() => update({ search: value }), 250);
    return () => clearTimeout(timer);
  }, [searchText, input.search, update]);

  const list = useQuery(trpc.devices.list.queryOptions(input, { placeholderData: keepPreviousData }));
  const summary = useQuery(trpc.devices.summary.queryOptions(summaryInputOf(input), { placeholderData: keepPreviousData }));
  const facets = useQuery(trpc.devices.facets.queryOptions());

  const filtered = Boolean(input.type || input.region || input.firmwareVersion || input.search || input.online !== "any");
  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-baseline justify-between">
        <h1 className="text-lg font-semibold">Fleet</h1>
        {filtered ? (
          <button type="button" className="text-xs font-medium text-sky-700 hover:underline" onClick={() => { setSearchText(""); update({ type: undefined, region: undefined, firmwareVersion: undefined, online: "any", search: undefined }); }}>
            Clear filters
          </button>
        ) : null}
      </div>

      <section aria-label="Fleet summary" className="grid grid-cols-1 gap-3 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
        <dl className="grid grid-cols-2 gap-2 sm:grid-cols-4">
          <Stat label={filtered ? "Devices (filtered)" : "Devices"} value={summary.data?.total} />
          <Stat label="Online" value={summary.data?.online} tone="text-emerald-700" />
          <Stat label="Offline" value={summary.data ? summary.data.total - summary.data.online : undefined} tone="text-slate-600" />
          <Stat label="Revoked" value={summary.data?.revoked} tone={summary.data?.revoked ? "text-red-700" : ""} />
        </dl>
        <div className="rounded border border-slate-200 bg-white px-3 py-2">
          <h2 className="text-xs font-medium text-slate-500">Devices by firmware version</h2>
          <div className="flex gap-4">
            <div className="min-w-0 flex-1">
              <FirmwareChart data={summary.data?.byFirmware ?? []} />
            </div>
            <ul aria-label="Firmware versions" className="max-h-40 w-44 overflow-auto text-xs">
              {(summary.data?.byFirmware ?? []).map((f) => (
                <li key={f.value} className="flex justify-between gap-2 py-0.5">
                  <button type="button" className="font-mono text-sky-700 hover:underline" onClick={() => update({ firmwareVersion: f.value })} aria-label={`Filter firmware ${f.value}`}>
                    {f.value}
                  </button>
                  <span className="tabular-nums text-slate-600">{f.count.toLocaleString("en-US")}</span>
                </li>
              ))}
            </ul>
          </div>
        </div>
      </section>

      <section aria-label="Filters" className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
          Search
          <input
            type="search"
            aria-label="Search device id"
            placeholder="Device id…"
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
            className="w-56 rounded border border-slate-300 bg-white px-2 py-1 text-sm font-normal"
          />
        </label>
        <SelectFilter label="Type" value={input.type ?? ""} options={facets.data?.types ?? []} onChange={(v) => update({ type: v || undefined })} />
        <SelectFilter label="Region" value={input.region ?? ""} options={facets.data?.regions ?? []} onChange={(v) => update({ region: v || undefined })} />
        <SelectFilter label="Firmware" value={input.firmwareVersion ?? ""} options={facets.data?.firmwareVersions ?? []} onChange={(v) => update({ firmwareVersion: v || undefined })} />
        <SelectFilter
          label="Connection"
          value={input.online === "any" ? "" : input.online}
          options={[{ value: "online" }, { value: "offline" }]}
          allLabel="Any"
          onChange={(v) => update({ online: (v || "any") as DeviceListInput["online"] })}
        />
      </section>

      {list.error ? (
        <ErrorState message={list.error.message} onRetry={() => void list.refetch()} />
      ) : (
        <DeviceTable
          rows={list.data?.items}
          loading={list.isPending}
          sort={input.sort}
          direction={input.direction}
          onSort={(sort) => update({ sort, direction: input.sort === sort && input.direction === "asc" ? "desc" : "asc", page: input.page })}
        />
      )}
      {list.data ? <Pagination page={list.data.page} pageSize={list.data.pageSize} total={list.data.total} onPage={(page) => update({ page })} label="devices" /> : null}
    </div>
  );
}
