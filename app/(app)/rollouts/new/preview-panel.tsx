import { Badge } from "@/components/badge.tsx";
import { formatDuration } from "@/components/rollout-time.tsx";
import type { RolloutPreview } from "@/server/rollouts/plan-data.ts";

const SKIP_REASONS: Record<string, string> = {
  revoked: "Revoked",
  incompatible_hardware: "Incompatible hardware",
  already_on_target: "Already on this version",
  below_minimum_version: "Below the firmware's minimum version",
  in_other_rollout: "In another active rollout",
};

const n = (x: number) => x.toLocaleString("en-US");

function ApprovalNote({ preview, requested }: { preview: RolloutPreview; requested: boolean }) {
  if (!preview.requiresApproval) {
    return (
      <p className="text-xs">
        <Badge tone="good">✓ No approval needed</Badge> <span className="text-slate-600">It starts as soon as it is launched.</span>
      </p>
    );
  }
  const why = [
    requested ? "you asked for it" : null,
    preview.eligible > preview.approvalThreshold ? `${n(preview.eligible)} devices is over ${n(preview.approvalThreshold)} devices` : null,
  ].filter(Boolean);
  return (
    <p className="text-xs">
      <Badge tone="warn">◌ Approval required</Badge> <span className="text-slate-700">Another engineer must approve it before it starts: {why.join("; ")}.</span>
    </p>
  );
}

export function PreviewPanel({ preview, requestedApproval, ratePerSec }: { preview: RolloutPreview; requestedApproval: boolean; ratePerSec: number }) {
  const skipped = preview.skippedByReason.reduce((sum, s) => sum + s.count, 0);
  return (
    <div className="flex flex-col gap-3">
      <dl className="grid grid-cols-3 gap-2">
        {[
          ["Targeted", preview.targeted],
          ["Eligible", preview.eligible],
          ["Skipped", skipped],
        ].map(([label, value]) => (
          <div key={label} className="rounded border border-slate-200 px-2 py-1">
            <dt className="text-[11px] text-slate-500">{label}</dt>
            <dd className="text-base font-semibold tabular-nums">{n(value as number)}</dd>
          </div>
        ))}
      </dl>
      <p className="text-xs text-slate-600">
        {preview.firmware.deviceType} <span className="font-mono">{preview.firmware.version}</span>
      </p>
      <ApprovalNote preview={preview} requested={requestedApproval} />

      {preview.waves.length === 0 ? (
        <p role="alert" className="rounded border border-amber-200 bg-amber-50 px-3 py-2 text-xs text-amber-900">
          No device would be updated: {preview.targeted === 0 ? "nothing matches the targeting." : "every targeted device is skipped."}
        </p>
      ) : (
        <table className="w-full text-left text-xs" aria-label="Planned waves">
          <thead className="border-b border-slate-200 text-slate-600">
            <tr>
              <th scope="col" className="py-1 font-medium">Wave</th>
              <th scope="col" className="py-1 text-right font-medium">Devices</th>
              <th scope="col" className="py-1 pl-3 font-medium">Publication</th>
              <th scope="col" className="py-1 pl-3 font-medium">First devices</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {preview.waves.map((w) => (
              <tr key={w.index} className="align-top">
                <th scope="row" className="whitespace-nowrap py-1 font-medium">
                  Wave {w.index + 1}
                </th>
                <td className="py-1 text-right tabular-nums">{n(w.size)}</td>
                <td className="whitespace-nowrap py-1 pl-3 text-slate-600">≈ {formatDuration(w.publishSeconds)} at {n(ratePerSec)}/s</td>
                <td className="py-1 pl-3">
                  <details>
                    <summary className="cursor-pointer whitespace-nowrap text-sky-700">
                      Show {w.deviceIds.length < w.size ? `first ${n(w.deviceIds.length)}` : n(w.deviceIds.length)}
                    </summary>
                    <ul aria-label={`First devices of wave ${w.index + 1}`} className="mt-1 max-h-40 overflow-auto font-mono text-slate-700">
                      {w.deviceIds.map((id) => (
                        <li key={id}>{id}</li>
                      ))}
                      {w.size > w.deviceIds.length ? <li className="font-sans text-slate-500">… and {n(w.size - w.deviceIds.length)} more</li> : null}
                    </ul>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {preview.skippedByReason.length > 0 ? (
        <div>
          <h3 className="text-xs font-semibold">Skipped devices</h3>
          <ul aria-label="Skipped devices by reason" className="mt-1 text-xs">
            {preview.skippedByReason.map((s) => (
              <li key={s.reason} className="flex justify-between gap-2 py-0.5">
                <span>{SKIP_REASONS[s.reason] ?? s.reason}</span>
                <span className="tabular-nums">{n(s.count)}</span>
              </li>
            ))}
          </ul>
          <details className="mt-1 text-xs">
            <summary className="cursor-pointer text-sky-700">Show skipped devices{skipped > preview.skipped.length ? ` (first ${n(preview.skipped.length)})` : ""}</summary>
            <ul className="mt-1 max-h-48 overflow-auto">
              {preview.skipped.map((s) => (
                <li key={s.deviceId} className="py-0.5">
                  <span className="font-mono">{s.deviceId}</span> <span className="text-slate-500">{s.detail}</span>
                </li>
              ))}
            </ul>
          </details>
        </div>
      ) : null}
      <p className="text-[11px] text-slate-500">
        Publication is the time to send the update to a wave&apos;s devices at the configured rate; each next wave waits for its gate. The launch plans with the same seed, so it makes these waves unless the fleet changes in between.
      </p>
    </div>
  );
}
