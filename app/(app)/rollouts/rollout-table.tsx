import Link from "next/link";
import { RolloutStateBadge } from "@/components/rollout-state-badge.tsx";
import { Timestamp } from "@/components/rollout-time.tsx";
import { DataTable } from "@/components/data-table.tsx";
import { ThinProgress } from "@/components/wave-progress.tsx";
import type { listRollouts } from "@/server/rollouts/data.ts";

export type RolloutRow = Awaited<ReturnType<typeof listRollouts>>["items"][number];

const COLUMNS = ["Name", "Firmware", "State", "Wave", "Devices", "Created by", "Created", "Started"];

export function RolloutTable({ rows, loading }: { rows: RolloutRow[] | undefined; loading: boolean }) {
  return (
    <DataTable label="Rollouts" columns={COLUMNS} rows={rows} loading={loading}>
      {(r) => {
        const finished = r.succeeded + r.failed;
        return (
          <tr key={r.id} className="hover:bg-slate-50">
            <td className="max-w-xs truncate px-3 py-1.5 font-medium">
              <Link href={`/rollouts/${r.id}`} className="text-sky-700 hover:underline">
                {r.name}
              </Link>
            </td>
            <td className="whitespace-nowrap px-3 py-1.5">
              <span className="font-mono text-xs">{r.firmwareVersion}</span> <span className="text-xs text-slate-600">{r.deviceType}</span>
            </td>
            <td className="px-3 py-1.5">
              <span className="flex flex-col items-start gap-0.5">
                <RolloutStateBadge state={r.state} title={r.pausedReason ?? undefined} />
                {r.state === "paused" && r.pausedReason ? <span className="max-w-56 truncate text-[11px] text-amber-800">{r.pausedReason}</span> : null}
              </span>
            </td>
            <td className="whitespace-nowrap px-3 py-1.5 tabular-nums">
              {r.waveCount === 0 ? "—" : `${Math.min(r.currentWave + 1, r.waveCount)} of ${r.waveCount}`}
            </td>
            <td className="px-3 py-1.5">
              <span className="flex flex-col gap-1">
                <span className="whitespace-nowrap text-xs tabular-nums">
                  <span className="text-emerald-700">{r.succeeded.toLocaleString("en-US")} succeeded</span>
                  {" · "}
                  <span className={r.failed > 0 ? "text-red-700" : "text-slate-500"}>{r.failed.toLocaleString("en-US")} failed</span>
                  <span className="text-slate-500"> of {r.deviceCount.toLocaleString("en-US")}</span>
                </span>
                <ThinProgress succeeded={r.succeeded} failed={r.failed} total={r.deviceCount} />
                <span className="sr-only">{r.deviceCount > 0 ? `${Math.round((finished / r.deviceCount) * 100)}% finished` : ""}</span>
              </span>
            </td>
            <td className="max-w-40 truncate px-3 py-1.5 text-xs">{r.createdBy}</td>
            <td className="px-3 py-1.5 text-xs text-slate-600">
              <Timestamp date={r.createdAt} />
            </td>
            <td className="px-3 py-1.5 text-xs text-slate-600">
              <Timestamp date={r.startedAt} empty="not started" />
            </td>
          </tr>
        );
      }}
    </DataTable>
  );
}
