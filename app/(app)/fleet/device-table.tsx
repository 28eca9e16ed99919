import Link from "next/link";
import { Badge, OnlineBadge } from "@/components/badge.tsx";
import { TimeAgo, useNow } from "@/components/relative-time.tsx";
import { EmptyState, LoadingRows } from "@/components/states.tsx";
import type { DeviceListInput, DeviceRow } from "@/server/devices/schema.ts";
import { isPotentiallyOffline } from "@/server/shadow/presence-rules.ts";

type Sort = DeviceListInput["sort"];

const COLUMNS: Array<{ key: Sort | null; label: string }> = [
  { key: "id", label: "Device" },
  { key: "type", label: "Type" },
  { key: null, label: "Hardware" },
  { key: "region", label: "Region" },
  { key: "firmwareVersion", label: "Firmware" },
  { key: null, label: "Tags" },
  { key: null, label: "Status" },
  { key: "lastSeenAt", label: "Last seen" },
];

export function DeviceTable({
  rows,
  loading,
  sort,
  direction,
  onSort,
}: {
  rows: DeviceRow[] | undefined;
  loading: boolean;
  sort: Sort;
  direction: "asc" | "desc";
  onSort: (sort: Sort) => void;
}) {
  // Relative times and silence depend on the browser's clock: both wait for it, so the server's HTML hydrates as is.
  const now = useNow();
  if (!loading && rows?.length === 0) return <EmptyState title="No devices match">Change the filters, or import a factory manifest on the Admin page.</EmptyState>;
  return (
    <div className="overflow-x-auto rounded border border-slate-200 bg-white">
      <table className="w-full text-left text-sm" aria-label="Devices" aria-busy={loading}>
        <thead className="border-b border-slate-200 bg-slate-50 text-xs text-slate-600">
          <tr>
            {COLUMNS.map((col) => (
              <th key={col.label} scope="col" className="px-3 py-2 font-medium" aria-sort={col.key === sort ? (direction === "asc" ? "ascending" : "descending") : undefined}>
                {col.key ? (
                  <button type="button" onClick={() => onSort(col.key!)} className="inline-flex items-center gap-1 hover:text-slate-900">
                    {col.label}
                    <span aria-hidden>{col.key === sort ? (direction === "asc" ? "▲" : "▼") : ""}</span>
                  </button>
                ) : (
                  col.label
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {loading || !rows ? (
            <LoadingRows columns={COLUMNS.length} />
          ) : (
            rows.map((d) => (
              <tr key={d.id} className="hover:bg-slate-50">
                <td className="px-3 py-1.5 font-mono text-xs">
                  <Link href={`/devices/${encodeURIComponent(d.id)}`} className="text-sky-700 hover:underline">
                    {d.id}
                  </Link>
                </td>
                <td className="px-3 py-1.5">{d.type}</td>
                <td className="px-3 py-1.5 text-slate-600">{d.hardwareVersion}</td>
                <td className="px-3 py-1.5">{d.region}</td>
                <td className="px-3 py-1.5 font-mono text-xs">{d.firmwareVersion}</td>
                <td className="px-3 py-1.5">
                  <span className="flex flex-wrap gap-1">
                    {d.tags.map((t) => (
                      <Badge key={t}>{t}</Badge>
                    ))}
                  </span>
                </td>
                <td className="px-3 py-1.5">
                  <span className="flex gap-1">
                    {d.revoked ? <Badge tone="bad">Revoked</Badge> : <OnlineBadge online={d.online} />}
                    {!d.revoked && now !== null && isPotentiallyOffline(d.online, d.lastSeenAt, now) ? (
                      <Badge tone="warn" title="Online, but no message for over 10 minutes">⚠ Silent</Badge>
                    ) : null}
                  </span>
                </td>
                <td className="px-3 py-1.5 text-xs text-slate-600">
                  <TimeAgo date={d.lastSeenAt} now={now} />
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
