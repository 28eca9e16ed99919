import { Badge } from "./badge.tsx";
import { WaveStateBadge } from "./rollout-state-badge.tsx";
import { Timestamp } from "./rollout-time.tsx";
import { cancelledOf, Swatch, WaveProgressBar, type WaveCounts } from "./wave-progress.tsx";

export type WaveSummary = WaveCounts & {
  index: number;
  state: string;
  finished: number;
  /** Of inProgress: waiting to retry after a failed attempt (counted as failures for the gate and guard). */
  retrying?: number;
  successRate: number;
  failureRate: number;
  ciLower: number;
  ciUpper: number;
  startedAt: Date | null;
  gatePassedAt: Date | null;
};

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function Count({ label, value, colour, tone }: { label: string; value: number; colour?: string; tone?: string }) {
  return (
    <div className="min-w-0">
      <dt className="flex items-center gap-1 text-[11px] text-slate-500">
        {colour ? <Swatch colour={colour} /> : null}
        {label}
      </dt>
      <dd className={`text-sm font-semibold tabular-nums ${value > 0 ? (tone ?? "") : "text-slate-400"}`}>{value.toLocaleString("en-US")}</dd>
    </div>
  );
}

/** One wave: its state, a stacked bar, every count by word, and its health. */
export function WaveCard({ wave, current, successGate }: { wave: WaveSummary; current: boolean; successGate: number }) {
  const n = wave.index + 1;
  const titleId = `wave-${wave.index}-title`;
  const retrying = wave.retrying ?? 0;
  const failures = wave.failed + wave.timedOut + retrying;
  const cancelled = cancelledOf(wave);
  // Before a wave starts, its devices have not been asked anything: silence is expected, not a warning.
  const started = wave.startedAt !== null;
  return (
    <section aria-labelledby={titleId} className={`rounded border bg-white px-3 py-2 ${current ? "border-sky-300 ring-1 ring-sky-100" : "border-slate-200"}`}>
      <div className="flex flex-wrap items-center gap-2">
        <h3 id={titleId} className="text-sm font-semibold">
          Wave {n}
        </h3>
        <WaveStateBadge state={wave.state} />
        {current ? <Badge tone="info">Current wave</Badge> : null}
        <span className="text-xs text-slate-600 tabular-nums">{wave.size.toLocaleString("en-US")} devices</span>
        <span className="ml-auto flex gap-3 text-xs text-slate-500">
          {wave.startedAt ? (
            <span>
              started <Timestamp date={wave.startedAt} />
            </span>
          ) : null}
          {wave.gatePassedAt ? (
            <span>
              gate passed <Timestamp date={wave.gatePassedAt} />
            </span>
          ) : null}
        </span>
      </div>
      <div className="mt-2">
        <WaveProgressBar counts={wave} label={`Wave ${n} progress`} />
      </div>
      <dl className="mt-2 grid grid-cols-3 gap-x-3 gap-y-1 sm:grid-cols-7">
        <Count label="Pending" value={wave.pending} colour="bg-slate-300" />
        <Count label="In progress" value={wave.inProgress - retrying} colour="bg-sky-400" />
        {retrying > 0 ? <Count label="Retrying" value={retrying} tone="text-amber-700" /> : null}
        <Count label="Succeeded" value={wave.succeeded} colour="bg-emerald-500" tone="text-emerald-700" />
        <Count label="Failed" value={wave.failed} colour="bg-red-600" tone="text-red-700" />
        <Count label="Timed out" value={wave.timedOut} colour="bg-orange-400" tone="text-orange-700" />
        {started ? <Count label="Potentially offline" value={wave.offline} tone="text-amber-700" /> : null}
        {cancelled > 0 ? <Count label="Cancelled" value={cancelled} colour="bg-slate-500" /> : null}
      </dl>
      <p className="mt-1.5 text-xs text-slate-600">
        Success <strong className="tabular-nums text-slate-900">{pct(wave.successRate)}</strong> of reachable devices (gate {Math.round(successGate * 100)}%)
        {" · "}
        {wave.finished === 0 ? (
          "no device finished yet"
        ) : (
          <>
            {failures.toLocaleString("en-US")} failure{failures === 1 ? "" : "s"}
            {retrying > 0 ? ` (${retrying.toLocaleString("en-US")} retrying)` : ""} of {wave.finished.toLocaleString("en-US")} finished ({pct(wave.failureRate)}), 95% CI{" "}
            <span className="tabular-nums">
              {pct(wave.ciLower)}–{pct(wave.ciUpper)}
            </span>
          </>
        )}
        {started && wave.offline > 0 ? ` · ${wave.offline.toLocaleString("en-US")} potentially offline excluded from the gate` : ""}
        {!started && wave.offline > 0 ? <span className="text-slate-500">{` · ${wave.offline.toLocaleString("en-US")} not heard from yet`}</span> : null}
      </p>
    </section>
  );
}
