import { RolloutStateBadge, stateWords } from "@/components/rollout-state-badge.tsx";
import { Timestamp } from "@/components/rollout-time.tsx";
import type { RolloutDetail } from "@/server/rollouts/data.ts";

/** Who paused: a person's pause reads "Paused by …"; anything else came from the failure guard, with its numbers. */
function pausedByGuard(reason: string | null): boolean {
  return reason !== null && !reason.startsWith("Paused by ");
}

function StateBanner({ rollout: r }: { rollout: RolloutDetail }) {
  if (r.state === "paused") {
    const auto = pausedByGuard(r.pausedReason);
    return (
      <section aria-labelledby="paused-title" className="mt-3 rounded border border-amber-300 bg-amber-50 px-4 py-3 text-amber-950">
        <div className="flex flex-wrap items-baseline gap-2">
          <h2 id="paused-title" className="text-sm font-semibold">
            <span aria-hidden>‖ </span>
            Paused
          </h2>
          {auto ? <span className="text-xs font-medium">automatically, by the failure guard</span> : null}
        </div>
        <p className="mt-0.5 text-sm">{r.pausedReason ?? "No reason was given."}</p>
        <p className="mt-1 text-xs text-amber-900">No new device starts until the rollout is resumed. Devices already updating finish.</p>
      </section>
    );
  }
  if (r.state === "awaiting_approval") {
    return (
      <section aria-label="Approval" className="mt-3 rounded border border-slate-300 bg-white px-4 py-2 text-sm">
        <span aria-hidden>◌ </span>Waiting for approval: another engineer must approve before the first device is updated.
      </section>
    );
  }
  return null;
}

export function RolloutHeader({ rollout: r }: { rollout: RolloutDetail }) {
  const waves = r.waves.length;
  return (
    <>
      <div className="mt-1 flex flex-wrap items-center gap-3">
        <h1 className="text-lg font-semibold">{r.name}</h1>
        <span role="status" aria-label={`Rollout state: ${stateWords(r.state)}`}>
          <RolloutStateBadge state={r.state} />
        </span>
        <span className="text-xs text-slate-600">
          {r.firmware.deviceType} <span className="font-mono">{r.firmware.version}</span> · {r.deviceCount.toLocaleString("en-US")} devices
          {waves > 0 ? ` · wave ${Math.min(r.currentWave + 1, waves)} of ${waves}` : ""}
        </span>
      </div>
      <p className="mt-1 flex flex-wrap gap-x-4 gap-y-0.5 text-xs text-slate-600">
        <span>
          Created by <strong className="font-medium text-slate-800">{r.createdBy}</strong> <Timestamp date={r.createdAt} />
        </span>
        {r.approvedBy ? (
          <span>
            Approved by <strong className="font-medium text-slate-800">{r.approvedBy}</strong> <Timestamp date={r.approvedAt} />
          </span>
        ) : r.requiresApproval && r.state === "awaiting_approval" ? (
          <span>Needs approval</span>
        ) : null}
        {r.startedAt ? (
          <span>
            Started <Timestamp date={r.startedAt} />
          </span>
        ) : null}
        {r.finishedAt ? (
          <span>
            {r.state === "aborted" ? "Aborted" : "Finished"} <Timestamp date={r.finishedAt} />
          </span>
        ) : null}
      </p>
      <StateBanner rollout={r} />
    </>
  );
}
