"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { ErrorState } from "@/components/states.tsx";
import { WaveCard } from "@/components/wave-card.tsx";
import { useRolloutLive } from "../rollout-live.ts";
import { FailingDevices, RolloutDevices } from "./rollout-devices.tsx";
import { RUNNING_REFRESH_MS } from "./params.ts";
import { RolloutHeader } from "./rollout-header.tsx";
import { RolloutActions, type Allowed } from "./rollout-actions.tsx";
import { RolloutSettings } from "./rollout-settings.tsx";

function gateFallback(state: string): string {
  if (state === "completed") return "Every wave finished.";
  if (state === "aborted") return "Aborted: no device starts any more.";
  if (state === "awaiting_approval") return "The first wave starts when another engineer approves the rollout.";
  return "Waiting for the first results.";
}

export function RolloutView({ rolloutId, currentUserId, allowed }: { rolloutId: string; currentUserId: string; allowed: Allowed }) {
  const trpc = useTRPC();
  useRolloutLive(rolloutId);
  const rollout = useQuery(
    trpc.rollouts.get.queryOptions({ id: rolloutId }, { refetchInterval: (query) => (query.state.data?.state === "running" ? RUNNING_REFRESH_MS : false) }),
  );

  const back = (
    <Link href="/rollouts" className="text-xs text-sky-700 hover:underline">
      ← Rollouts
    </Link>
  );
  if (rollout.error) {
    const missing = rollout.error.data?.code === "NOT_FOUND" || rollout.error.data?.code === "BAD_REQUEST";
    return (
      <div className="flex flex-col gap-3">
        {back}
        <ErrorState title={missing ? "Rollout not found" : "Could not load this rollout"} message={missing ? "There is no rollout with this id." : rollout.error.message} onRetry={missing ? undefined : () => void rollout.refetch()} />
      </div>
    );
  }
  const r = rollout.data;
  if (!r) {
    return (
      <div className="flex flex-col gap-3">
        {back}
        <p role="status" className="text-sm text-slate-500">
          Loading…
        </p>
      </div>
    );
  }

  const running = r.state === "running";
  return (
    <div className="flex flex-col gap-4">
      <div>
        {back}
        <RolloutHeader rollout={r} />
      </div>
      <RolloutActions rollout={r} allowed={allowed} currentUserId={currentUserId} />

      <div className="grid grid-cols-1 items-start gap-4 xl:grid-cols-[minmax(0,1fr)_20rem]">
        <div className="flex min-w-0 flex-col gap-4">
          <section aria-labelledby="gate-title" className="rounded border border-slate-200 bg-white px-3 py-2">
            <h2 id="gate-title" className="text-xs font-medium text-slate-500">
              Gate
            </h2>
            <p aria-live="polite" className="mt-0.5 text-sm font-medium text-slate-900">
              {r.gateText ?? gateFallback(r.state)}
            </p>
          </section>

          <section aria-labelledby="waves-title" className="flex flex-col gap-2">
            <h2 id="waves-title" className="text-sm font-semibold">
              Waves
            </h2>
            {r.waves.map((w) => (
              <WaveCard key={w.index} wave={w} current={w.index === r.currentWave && r.state !== "completed" && r.state !== "aborted"} successGate={r.settings.successGate} />
            ))}
          </section>

          <FailingDevices rolloutId={r.id} running={running} />
          <RolloutDevices rolloutId={r.id} waveCount={r.waves.length} running={running} />
        </div>
        <RolloutSettings rollout={r} />
      </div>
    </div>
  );
}
