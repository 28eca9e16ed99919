import Link from "next/link";
import { OnlineBadge } from "./badge.tsx";
import { ExecutionStateBadge } from "./rollout-state-badge.tsx";
import { Timestamp } from "./rollout-time.tsx";
import { DataTable } from "./data-table.tsx";

export type RolloutDeviceRow = {
  deviceId: string;
  wave: number;
  state: string;
  attempts: number;
  errorCode: string | null;
  lastStatus: string | null;
  reportedVersion: string | null;
  region: string;
  online: boolean;
  lastSeenAt: Date | null;
  updatedAt: Date;
};

const COLUMNS = ["Device", "Wave", "State", "Error", "Attempts", "Last status", "Region", "Connection", "Last seen", "Changed"];

/** Devices of a rollout, one execution per row. */
export function RolloutDeviceTable({ label, rows, loading }: { label: string; rows: RolloutDeviceRow[] | undefined; loading: boolean }) {
  return (
    <DataTable label={label} columns={COLUMNS} rows={rows} loading={loading} loadingRows={4}>
      {(d) => (
        <tr key={d.deviceId} className="hover:bg-slate-50">
          <td className="whitespace-nowrap px-3 py-1.5 font-mono text-xs">
            <Link href={`/devices/${encodeURIComponent(d.deviceId)}`} className="text-sky-700 hover:underline">
              {d.deviceId}
            </Link>
          </td>
          <td className="px-3 py-1.5 tabular-nums">{d.wave + 1}</td>
          <td className="px-3 py-1.5">
            <ExecutionStateBadge state={d.state} />
          </td>
          <td className="px-3 py-1.5 font-mono text-xs text-red-800">{d.errorCode ?? <span className="text-slate-400">—</span>}</td>
          <td className="px-3 py-1.5 tabular-nums">{d.attempts}</td>
          <td className="whitespace-nowrap px-3 py-1.5 text-xs">
            {d.lastStatus ?? <span className="text-slate-400">—</span>}
            {d.reportedVersion ? <span className="ml-1 font-mono text-slate-500">{d.reportedVersion}</span> : null}
          </td>
          <td className="px-3 py-1.5 text-xs">{d.region}</td>
          <td className="px-3 py-1.5">
            <OnlineBadge online={d.online} />
          </td>
          <td className="px-3 py-1.5 text-xs text-slate-600">
            <Timestamp date={d.lastSeenAt} empty="never" />
          </td>
          <td className="px-3 py-1.5 text-xs text-slate-600">
            <Timestamp date={d.updatedAt} />
          </td>
        </tr>
      )}
    </DataTable>
  );
}
