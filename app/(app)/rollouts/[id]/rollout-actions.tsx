"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { RolloutConfirmDialog } from "@/components/rollout-confirm-dialog.tsx";
import { ErrorState } from "@/components/states.tsx";
import type { RolloutDetail } from "@/server/rollouts/data.ts";

/** What the signed-in role may do here (the server checks again on every call). */
export type Allowed = { launch: boolean; pause: boolean };

type ActionError = { message: string; data?: { code?: string } | null };

const ERROR_TITLES: Record<string, string> = {
  FORBIDDEN: "Not allowed",
  PRECONDITION_FAILED: "Not possible in the rollout's current state",
  NOT_FOUND: "The rollout no longer exists",
};

const button = "rounded border border-slate-300 bg-white px-2.5 py-1 text-sm font-medium hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50";
const primary = "rounded bg-sky-700 px-2.5 py-1 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60";
const primaryUnavailable = "cursor-not-allowed rounded bg-sky-700 px-2.5 py-1 text-sm font-medium text-white opacity-50";
const danger = "rounded border border-red-300 bg-white px-2.5 py-1 text-sm font-medium text-red-800 hover:bg-red-50 disabled:opacity-60";
const small = "rounded border border-slate-300 bg-white px-2 py-1 text-sm font-normal";

export function RolloutActions({ rollout: r, allowed, currentUserId }: { rollout: RolloutDetail; allowed: Allowed; currentUserId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<"abort" | "advance" | null>(null);
  const [pauseReason, setPauseReason] = useState("");
  const [reason, setReason] = useState("");
  const [revert, setRevert] = useState(false);
  const [notice, setNotice] = useState("");
  const [error, setError] = useState<ActionError | null>(null);
  const ownHintId = useId();
  // The server refuses a creator's approval (FORBIDDEN); the page says so before anyone tries.
  const ownRollout = r.createdById === currentUserId;

  const refreshRollout = () => queryClient.invalidateQueries(trpc.rollouts.get.queryFilter({ id: r.id }));
  const settle = {
    onMutate: () => {
      setError(null);
      setNotice("");
    },
    // The message shows on the page, so a dialog that was open closes to reveal it.
    onError: (err: ActionError) => {
      setError(err);
      setDialog(null);
      void refreshRollout();
    },
    // Not awaited: the action is done once the rollout itself is fresh.
    onSettled: () => {
      void queryClient.invalidateQueries(trpc.rollouts.devices.pathFilter());
      void queryClient.invalidateQueries(trpc.rollouts.list.pathFilter());
    },
  };
  // The notice appears with the state it announces: the rollout is refetched first, and the action stays pending until then.
  const done = (message: string) => async () => {
    await refreshRollout();
    setNotice(message);
    setDialog(null);
    setReason("");
    setRevert(false);
  };
  const pause = useMutation(
    trpc.rollouts.pause.mutationOptions({
      ...settle,
      onSuccess: async () => {
        await refreshRollout();
        setPauseReason("");
        setNotice("Rollout paused.");
      },
    }),
  );
  const resume = useMutation(trpc.rollouts.resume.mutationOptions({ ...settle, onSuccess: done("Rollout resumed.") }));
  const approve = useMutation(trpc.rollouts.approve.mutationOptions({ ...settle, onSuccess: done("Rollout approved: the first wave starts now.") }));
  const abort = useMutation(trpc.rollouts.abort.mutationOptions({ ...settle, onSuccess: done("Rollout aborted.") }));
  const advance = useMutation(trpc.rollouts.advance.mutationOptions({ ...settle, onSuccess: done("The next wave started.") }));
  const retry = useMutation(trpc.rollouts.retryFailed.mutationOptions({ ...settle, onSuccess: done("Failed and timed-out devices will be tried again.") }));
  const busy = pause.isPending || resume.isPending || approve.isPending || abort.isPending || advance.isPending || retry.isPending;

  const active = r.state === "awaiting_approval" || r.state === "running" || r.state === "paused";
  const lastWave = Math.max(0, r.waves.length - 1);
  const failures = r.waves.reduce((n, w) => n + w.failed + w.timedOut, 0);
  const show = {
    pause: allowed.pause && r.state === "running",
    resume: allowed.pause && r.state === "paused",
    approve: allowed.launch && r.state === "awaiting_approval",
    abort: allowed.launch && active,
    advance: allowed.launch && (r.state === "running" || r.state === "paused") && r.currentWave < lastWave,
    retry: allowed.launch && (r.state === "running" || r.state === "paused" || r.state === "completed"),
  };
  const closeDialog = () => {
    setDialog(null);
    setReason("");
    setRevert(false);
  };
  if (!Object.values(show).some(Boolean) && !error && !notice) return null;

  return (
    <div className="flex flex-col gap-2">
      {/* While a dialog is open the page behind is inert; hiding it also keeps the dialog's button names unique. */}
      <div role="group" aria-label="Rollout actions" aria-hidden={dialog ? true : undefined} className="flex flex-wrap items-end gap-2">
        {show.pause ? (
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              pause.mutate({ id: r.id, reason: pauseReason.trim() || undefined });
            }}
          >
            <input aria-label="Pause reason (optional)" placeholder="Reason (optional)" value={pauseReason} maxLength={500} onChange={(e) => setPauseReason(e.target.value)} className={`${small} w-56`} />
            <button type="submit" disabled={busy} className={primary}>
              <span aria-hidden>‖ </span>Pause rollout
            </button>
          </form>
        ) : null}
        {show.resume ? (
          <button type="button" disabled={busy} className={primary} onClick={() => resume.mutate({ id: r.id })}>
            <span aria-hidden>▶ </span>Resume rollout
          </button>
        ) : null}
        {show.approve ? (
          // For its creator the button stays focusable (aria-disabled, not disabled) so the reason is read out with it.
          <button
            type="button"
            disabled={busy}
            aria-disabled={ownRollout ? true : undefined}
            aria-describedby={ownRollout ? ownHintId : undefined}
            className={ownRollout ? primaryUnavailable : primary}
            onClick={() => {
              if (!ownRollout) approve.mutate({ id: r.id });
            }}
          >
            <span aria-hidden>✓ </span>Approve rollout
          </button>
        ) : null}
        {show.advance ? (
          <button type="button" disabled={busy} className={button} onClick={() => setDialog("advance")}>
            Advance to next wave
          </button>
        ) : null}
        {show.retry ? (
          <button type="button" disabled={busy || failures === 0} className={button} title={failures === 0 ? "No failed or timed-out device" : undefined} onClick={() => retry.mutate({ id: r.id })}>
            Retry failed devices
            {failures > 0 ? <span aria-hidden className="ml-1 text-slate-500 tabular-nums">({failures.toLocaleString("en-US")})</span> : null}
          </button>
        ) : null}
        {show.abort ? (
          <button type="button" disabled={busy} className={`${danger} ml-auto`} onClick={() => setDialog("abort")}>
            Abort rollout
          </button>
        ) : null}
      </div>
      {show.approve && ownRollout ? (
        <p id={ownHintId} className="text-xs text-slate-500">
          You created this rollout: another engineer must approve it.
        </p>
      ) : null}
      <p role="status" className="min-h-4 text-xs text-emerald-700">
        {notice}
      </p>
      {error ? <ErrorState title={ERROR_TITLES[error.data?.code ?? ""] ?? "That action failed"} message={error.message} /> : null}

      <RolloutConfirmDialog
        open={dialog === "abort"}
        title="Abort this rollout?"
        confirmLabel="Abort rollout"
        danger
        pending={abort.isPending}
        onClose={closeDialog}
        onConfirm={() => abort.mutate({ id: r.id, revert, reason: reason.trim() || undefined })}
      >
        <p className="text-sm text-slate-700">
          Every device that has not finished is cancelled and no new device starts. Devices already installing may still finish. This cannot be undone.
        </p>
        <label className="flex items-start gap-2 text-sm">
          <input type="checkbox" checked={revert} onChange={(e) => setRevert(e.target.checked)} className="mt-0.5" />
          <span>
            Also withdraw the update from devices not yet started
            <span className="block text-xs text-slate-500">Devices told to update that have not begun get the update removed from their desired state.</span>
          </span>
        </label>
        <ReasonInput value={reason} onChange={setReason} />
      </RolloutConfirmDialog>

      <RolloutConfirmDialog
        open={dialog === "advance"}
        title={`Start wave ${Math.min(r.currentWave + 2, r.waves.length)} now?`}
        confirmLabel="Advance to next wave"
        pending={advance.isPending}
        onClose={closeDialog}
        onConfirm={() => advance.mutate({ id: r.id, reason: reason.trim() || undefined })}
      >
        <p className="text-sm text-slate-700">The next wave starts whatever its gate says. The gate as it stands now is recorded in the audit history:</p>
        <p className="rounded bg-slate-50 px-2 py-1 text-sm">{r.gateText ?? "no gate reading yet"}</p>
        <ReasonInput value={reason} onChange={setReason} />
      </RolloutConfirmDialog>
    </div>
  );
}

function ReasonInput({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  return (
    <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
      Reason (optional)
      <input value={value} maxLength={500} onChange={(e) => onChange(e.target.value)} className={small} />
    </label>
  );
}
