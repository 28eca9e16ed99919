import Link from "next/link";
import { Badge, OnlineBadge } from "@/components/badge.tsx";
import { TimeAgo, useNow } from "@/components/relative-time.tsx";
import { DataTable, type DataColumn } from "@/components/data-table.tsx";
import { EmptyState } from "@/components/states.tsx";
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
  const columns: DataColumn[] = COLUMNS.map(({ key, label }) => ({
    label,
    sort: key === sort ? (direction === "asc" ? "ascending" : "descending") : undefined,
    header: key ? (
      <button type="button" onClick={() => onSort(key)} className="inline-flex items-center gap-1 hover:text-slate-900">
        {label}
        <span aria-hidden>{key === sort ? (direction === "asc" ? "▲" : "▼") : ""}</span>
      </button>
    ) : undefined,
  }));
  return (
    <DataTable label="Devices" columns={columns} rows={rows} loading={loading}>
      {(d) => (
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
      )}
    </DataTable>
  );
}
