"use client";
import { keepPreviousData, skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { EmptyState, ErrorState } from "@/components/states.tsx";
import { buildLaunchInput, buildPreviewInput, FIRMWARE_CHOICES, initialForm, serverFieldErrors, type FieldErrors, type LaunchForm, type PreviewInput } from "./launch-form.ts";
import { PreviewPanel } from "./preview-panel.tsx";
import { Field, inputClass } from "@/components/field.tsx";
import { FormSection, TextField } from "./wizard-fields.tsx";
import { StrategySection, TargetingSection, ThresholdsSection } from "./wizard-sections.tsx";

const ERROR_TITLES: Record<string, string> = {
  FORBIDDEN: "Not allowed",
  CONFLICT: "The rollout was not launched",
  PRECONDITION_FAILED: "The rollout was not launched",
  BAD_REQUEST: "Check the form",
};

export function LaunchWizard({ initialFirmwareId, approvalOverDevices }: { initialFirmwareId?: string; approvalOverDevices: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const firmware = useQuery(trpc.firmware.list.queryOptions(FIRMWARE_CHOICES));
  const facets = useQuery(trpc.devices.facets.queryOptions());

  const images = firmware.data?.items ?? [];
  const [form, setForm] = useState<LaunchForm>(() => {
    const f = images.find((i) => i.id === initialFirmwareId);
    return { ...initialForm(f?.id), name: f ? `${f.deviceType} ${f.version}` : "" };
  });
  const [nameTouched, setNameTouched] = useState(false);
  const [checked, setChecked] = useState<"preview" | "launch" | null>(null);
  const [previewInput, setPreviewInput] = useState<PreviewInput | null>(null);

  const preview = useQuery(trpc.rollouts.preview.queryOptions(previewInput ?? skipToken, { staleTime: 0, placeholderData: keepPreviousData }));
  const launch = useMutation(
    trpc.rollouts.launch.mutationOptions({
      onSuccess: async (result) => {
        await queryClient.invalidateQueries(trpc.rollouts.list.pathFilter());
        router.push(`/rollouts/${result.id}`);
      },
    }),
  );

  const chosen = images.find((f) => f.id === form.firmwareId);

  function set<K extends keyof LaunchForm>(key: K, value: LaunchForm[K]) {
    setForm((prev) => {
      const next = { ...prev, [key]: value };
      // A name follows the firmware until the engineer writes their own.
      if (key === "firmwareId" && !nameTouched) {
        const f = images.find((i) => i.id === value);
        next.name = f ? `${f.deviceType} ${f.version}` : "";
      }
      return next;
    });
    if (key === "name") setNameTouched(true);
    if (launch.error) launch.reset();
  }

  // Once the engineer tried, errors follow the form as it is corrected.
  const launchCheck = buildLaunchInput(form);
  const previewCheck = buildPreviewInput(form);
  const clientErrors: FieldErrors = checked === "launch" ? launchCheck.errors : checked === "preview" ? previewCheck.errors : {};
  const previewStale = previewInput !== null && JSON.stringify(previewInput) !== JSON.stringify(previewCheck.input);
  const serverError = launch.error ?? (preview.error && !previewStale ? preview.error : null);
  const errors: FieldErrors = { ...clientErrors, ...serverFieldErrors(serverError) };

  function onPreview() {
    setChecked("preview");
    if (!previewCheck.input) return;
    if (JSON.stringify(previewCheck.input) === JSON.stringify(previewInput)) void preview.refetch();
    else setPreviewInput(previewCheck.input);
  }

  function onLaunch(event: FormEvent) {
    event.preventDefault();
    setChecked("launch");
    if (launchCheck.input) launch.mutate(launchCheck.input);
  }

  if (firmware.error) return <ErrorState title="Could not load the firmware registry" message={firmware.error.message} onRetry={() => void firmware.refetch()} />;
  if (firmware.data && images.length === 0) {
    return (
      <EmptyState title="No firmware to roll out">
        Upload an image on the{" "}
        <Link href="/firmware" className="text-sky-700 hover:underline">
          Firmware
        </Link>{" "}
        page first.
      </EmptyState>
    );
  }

  const hasFieldErrors = Object.values(errors).some((e) => e?.length);
  return (
    <form onSubmit={onLaunch} noValidate aria-label="Launch rollout" className="grid grid-cols-1 items-start gap-4 xl:grid-cols-[minmax(0,3fr)_minmax(20rem,2fr)]">
      <div className="flex flex-col gap-4">
        <FormSection title="Firmware and name">
          <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
            <Field
              label="Firmware"
              errors={errors.firmwareId}
              hint={
                chosen
                  ? `Hardware: ${chosen.compatibleHardware.length ? chosen.compatibleHardware.join(", ") : "any"}${chosen.minVersion ? ` · needs at least ${chosen.minVersion}` : ""}`
                  : "Only devices of the image's type are updated."
              }
            >
              {(p) => (
                <select {...p} value={form.firmwareId} onChange={(e) => set("firmwareId", e.target.value)} className={inputClass} disabled={firmware.isPending}>
                  <option value="">{firmware.isPending ? "Loading…" : "Choose firmware…"}</option>
                  {images.map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.version} — {f.deviceType}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <TextField label="Name" value={form.name} onChange={(v) => set("name", v)} errors={errors.name} placeholder="e.g. gw-edge 4.2.0 to EU" />
          </div>
        </FormSection>

        <TargetingSection
          form={form}
          set={set}
          errors={errors}
          regions={facets.data?.regions ?? []}
          hardware={(chosen?.compatibleHardware ?? []).map((value) => ({ value }))}
          versions={facets.data?.firmwareVersions ?? []}
        />
        <StrategySection form={form} set={set} errors={errors} />
        <ThresholdsSection form={form} set={set} errors={errors} />

        <FormSection title="Approval">
          <div className="flex flex-col gap-0.5">
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={form.requireApproval} onChange={(e) => set("requireApproval", e.target.checked)} aria-describedby="require-approval-hint" />
              Require approval
            </label>
            <span id="require-approval-hint" className="text-xs text-slate-500">
              Another engineer approves before the first device is updated. Rollouts over {approvalOverDevices.toLocaleString("en-US")} devices need it anyway.
            </span>
          </div>
        </FormSection>

        <div className="flex flex-wrap items-center gap-3">
          <button type="button" onClick={onPreview} disabled={preview.isFetching} className="rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-60">
            Preview
          </button>
          <button type="submit" disabled={launch.isPending || launch.isSuccess} className="rounded bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
            Launch rollout
          </button>
          <span role="status" className="text-xs text-slate-600">
            {launch.isPending ? "Launching…" : launch.isSuccess ? "Launched. Opening the rollout…" : ""}
          </span>
          {checked && hasFieldErrors && !serverError ? (
            <p role="alert" className="text-xs text-red-700">
              Some fields need attention: see the messages beside them.
            </p>
          ) : null}
        </div>
        {launch.error ? <ErrorState title={ERROR_TITLES[launch.error.data?.code ?? ""] ?? "The rollout was not launched"} message={launch.error.message} /> : null}
      </div>

      <section aria-labelledby="preview-title" className="rounded border border-slate-200 bg-white p-4 xl:sticky xl:top-4">
        <h2 id="preview-title" className="text-sm font-semibold">
          Plan preview
        </h2>
        <div className="mt-2" aria-busy={preview.isFetching}>
          {!previewInput ? (
            <p className="text-xs text-slate-600">Preview shows the waves, the first devices of each, the skipped devices and whether an approval is needed, without launching anything.</p>
          ) : preview.error ? (
            <ErrorState title="Could not preview this plan" message={preview.error.message} />
          ) : preview.data ? (
            <>
              {previewStale ? (
                <p role="status" className="mb-2 rounded border border-amber-200 bg-amber-50 px-2 py-1 text-xs text-amber-900">
                  The form changed since this preview. Preview again to see the current plan.
                </p>
              ) : null}
              <PreviewPanel preview={preview.data} requestedApproval={previewInput.requireApproval} ratePerSec={previewInput.settings.ratePerSec} />
            </>
          ) : (
            <p role="status" className="text-xs text-slate-600">
              Planning…
            </p>
          )}
        </div>
      </section>
    </form>
  );
}
