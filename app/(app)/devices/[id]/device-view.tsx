"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { useLiveRoom } from "@/app/_live/live-provider.tsx";
import { Badge, OnlineBadge } from "@/components/badge.tsx";
import { JsonBlock } from "@/components/json-block.tsx";
import { Timestamp } from "@/components/rollout-time.tsx";
import { ErrorState } from "@/components/states.tsx";
import { EventTimeline } from "./event-timeline.tsx";

const MAX_SKEW_SEC = 300;

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="rounded border border-slate-200 bg-white px-3 py-2">
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className="mt-0.5 text-sm font-semibold tabular-nums">{children}</dd>
    </div>
  );
}

export function DeviceView({ deviceId }: { deviceId: string }) {
  const trpc = useTRPC();
  useLiveRoom(`device:${deviceId}`);
  const shadow = useQuery(trpc.shadow.get.queryOptions({ deviceId }));
  const [outcome, setOutcome] = useState<"" | "accepted" | "duplicate" | "rejected">("");

  if (shadow.error) {
    return (
      <div className="flex flex-col gap-3">
        <Link href="/fleet" className="text-xs text-sky-700 hover:underline">← Fleet</Link>
        <ErrorState title={shadow.error.data?.code === "NOT_FOUND" ? "Device not found" : "Could not load this device"} message={shadow.error.message} onRetry={() => void shadow.refetch()} />
      </div>
    );
  }
  const data = shadow.data;
  const skew = data?.presence.clockSkewSec ?? null;
  return (
    <div className="flex flex-col gap-4">
      <div>
        <Link href="/fleet" className="text-xs text-sky-700 hover:underline">← Fleet</Link>
        <div className="mt-1 flex flex-wrap items-center gap-3">
          <h1 className="font-mono text-lg font-semibold">{deviceId}</h1>
          {data ? (
            <>
              {data.device.revoked ? <Badge tone="bad">Revoked</Badge> : <OnlineBadge online={data.presence.online} />}
              {data.presence.potentiallyOffline ? <Badge tone="warn" title="No message for over 10 minutes">⚠ Potentially offline</Badge> : null}
              <span className="text-xs text-slate-600">
                {data.device.type} · {data.device.region} · firmware <span className="font-mono">{data.device.firmwareVersion}</span>
              </span>
            </>
          ) : null}
        </div>
      </div>

      {data ? (
        <>
          <dl className="grid grid-cols-2 gap-2 md:grid-cols-5">
            <Fact label="Shadow version">{data.shadow.version}</Fact>
            <Fact label="Last seq">{data.shadow.lastSeq ?? "—"}</Fact>
            <Fact label="Clock skew">
              {skew === null ? "—" : <span className={Math.abs(skew) > MAX_SKEW_SEC ? "text-amber-700" : ""}>{skew > 0 ? "+" : ""}{skew.toFixed(1)} s{Math.abs(skew) > MAX_SKEW_SEC ? " ⚠" : ""}</span>}
            </Fact>
            <Fact label="Last seen">
              <Timestamp date={data.presence.lastSeenAt} empty="never" seconds />
            </Fact>
            <Fact label="Device clock">
              <Timestamp date={data.presence.deviceClockAt} seconds />
            </Fact>
          </dl>

          <section aria-labelledby="findings-title">
            <h2 id="findings-title" className="text-sm font-semibold">Findings</h2>
            {data.findings.length === 0 ? (
              <p className="mt-1 text-xs text-slate-500">No open findings: clock, NTP and time zone look right.</p>
            ) : (
              <ul className="mt-1 flex flex-col gap-1">
                {data.findings.map((f) => (
                  <li key={f.kind} className="flex items-center gap-2 text-sm">
                    <Badge tone={f.severity === "warning" ? "warn" : f.severity === "critical" ? "bad" : "info"}>{f.severity}</Badge>
                    <span>{f.title}</span>
                    <span className="font-mono text-xs text-slate-500">{JSON.stringify(f.detail)}</span>
                    <span className="text-xs text-slate-500">×{f.count} · last <Timestamp date={f.lastSeenAt} seconds /></span>
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section aria-labelledby="shadow-title" className="flex flex-col gap-2">
            <h2 id="shadow-title" className="text-sm font-semibold">Shadow document</h2>
            <div className="grid grid-cols-1 gap-2 lg:grid-cols-3">
              <JsonBlock title="Desired" value={data.shadow.desired} />
              <JsonBlock title="Reported" value={data.shadow.reported} />
              <JsonBlock title="Delta" value={data.shadow.delta} emptyText="in sync: reported matches desired" />
            </div>
          </section>
        </>
      ) : (
        <p className="text-sm text-slate-500">Loading…</p>
      )}

      <section aria-labelledby="timeline-title" className="flex flex-col gap-2">
        <div className="flex items-end justify-between">
          <h2 id="timeline-title" className="text-sm font-semibold">Event timeline</h2>
          <label className="flex items-center gap-2 text-xs text-slate-600">
            Outcome
            <select aria-label="Filter events by outcome" value={outcome} onChange={(e) => setOutcome(e.target.value as typeof outcome)} className="rounded border border-slate-300 bg-white px-1 py-0.5">
              <option value="">All</option>
              <option value="accepted">Accepted</option>
              <option value="duplicate">Duplicate</option>
              <option value="rejected">Rejected</option>
            </select>
          </label>
        </div>
        <EventTimeline deviceId={deviceId} outcome={outcome || undefined} />
      </section>
    </div>
  );
}
