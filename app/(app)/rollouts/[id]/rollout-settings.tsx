import type { ReactNode } from "react";
import type { RolloutDetail } from "@/server/rollouts/data.ts";

const SKIP_REASONS: Record<string, string> = {
  revoked: "Revoked",
  incompatible_hardware: "Incompatible hardware",
  already_on_target: "Already on this version",
  below_minimum_version: "Below the minimum version",
  in_other_rollout: "In another active rollout",
};

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

function strategyText(s: Record<string, unknown>): string {
  if (s.kind === "canary") return `Canary ${s.canaryPct}% → staged ${s.stagedPct}% → the rest`;
  if (s.kind === "equal") return `${s.waves} equal waves`;
  if (s.kind === "explicit") return `Sizes ${Array.isArray(s.sizes) ? s.sizes.join(", ") : "—"}, then the rest`;
  return "—";
}

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex justify-between gap-3 py-0.5">
      <dt className="text-slate-500">{term}</dt>
      <dd className="text-right text-slate-900">{children}</dd>
    </div>
  );
}

function Group({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div>
      <h3 className="border-b border-slate-100 pb-1 text-xs font-semibold text-slate-700">{title}</h3>
      <dl className="mt-1 text-xs">{children}</dl>
    </div>
  );
}

/** The rollout's targeting, strategy and thresholds as launched. */
export function RolloutSettings({ rollout: r }: { rollout: RolloutDetail }) {
  const t = r.targeting;
  const s = r.settings;
  const any = <span className="text-slate-400">any</span>;
  const skipped = r.skipped.reduce((n, k) => n + k.count, 0);
  return (
    <aside aria-label="Rollout settings" className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-3">
      <Group title="Firmware">
        <Row term="Version">
          <span className="font-mono">{r.firmware.version}</span>
        </Row>
        <Row term="Device type">{r.firmware.deviceType}</Row>
        <Row term="Size">{r.firmware.size.toLocaleString("en-US")} bytes</Row>
        <Row term="SHA-256">
          <span className="font-mono" title={r.firmware.sha256}>
            {r.firmware.sha256.slice(0, 12)}…
          </span>
        </Row>
      </Group>
      <Group title="Targeting">
        <Row term="Regions">{list(t.regions).join(", ") || any}</Row>
        <Row term="Hardware">{list(t.hardware).join(", ") || any}</Row>
        <Row term="Tags">{list(t.tags).join(", ") || any}</Row>
        <Row term="Versions">
          {typeof t.versionMin === "string" || typeof t.versionMax === "string" ? (
            <span className="font-mono">
              {typeof t.versionMin === "string" ? t.versionMin : "…"} – {typeof t.versionMax === "string" ? t.versionMax : "…"}
            </span>
          ) : (
            any
          )}
        </Row>
        <Row term="Devices">{r.deviceCount.toLocaleString("en-US")}</Row>
        <Row term="Skipped">{skipped.toLocaleString("en-US")}</Row>
        {r.skipped.map((k) => (
          <Row key={k.reason} term={`· ${SKIP_REASONS[k.reason] ?? k.reason}`}>
            {k.count.toLocaleString("en-US")}
          </Row>
        ))}
      </Group>
      <Group title="Strategy">
        <Row term="Waves">{strategyText(r.strategy)}</Row>
        <Row term="Sizes">{r.waves.map((w) => w.size.toLocaleString("en-US")).join(" · ")}</Row>
      </Group>
      <Group title="Thresholds">
        <Row term="Success gate">{pct(s.successGate)} of reachable</Row>
        <Row term="Max failure">{pct(s.maxFailureRate)}</Row>
        <Row term="Min sample">{s.minSample}</Row>
        <Row term="Early pause from">{s.earlyMinSample} finished</Row>
        <Row term="Advance held above">{pct(s.maxFailureRate * s.advanceUpperFactor)} (95% CI)</Row>
        <Row term="Timeout">{s.timeoutMin} min per attempt</Row>
        <Row term="Retries">
          {s.maxRetries} (backoff {s.retryBaseSec} s – {Math.round(s.retryCapSec / 60)} min)
        </Row>
        <Row term="Rate">{s.ratePerSec.toLocaleString("en-US")} devices/s</Row>
        <Row term="Window">
          {s.window ? (
            <span>
              <span className="font-mono">{s.window.cron}</span> for {s.window.durationMin} min, {s.window.timeZone}
            </span>
          ) : (
            "any time"
          )}
        </Row>
        <Row term="Approval">{r.requiresApproval ? "required" : "not required"}</Row>
      </Group>
    </aside>
  );
}
