"use client";
import { useId } from "react";
import { DEFAULT_SETTINGS } from "@/server/rollouts/schema.ts";
import { splitList, toggleInList, type FieldErrors, type LaunchForm, type StrategyKind } from "./launch-form.ts";
import { FormSection, KnownValues, NumberField, TextField } from "./wizard-fields.tsx";

export type SetField = <K extends keyof LaunchForm>(key: K, value: LaunchForm[K]) => void;
type Option = { value: string; count?: number };
type SectionProps = { form: LaunchForm; set: SetField; errors: FieldErrors };

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

export function TargetingSection({
  form,
  set,
  errors,
  regions,
  hardware,
  versions,
}: SectionProps & { regions: Option[]; hardware: Option[]; versions: Option[] }) {
  const versionList = useId();
  return (
    <FormSection
      title="Targeting"
      description="Devices of the firmware's type that match every filter below; an empty filter matches all. Incompatible, revoked and up-to-date devices are skipped and listed in the preview."
      errors={errors.targeting}
    >
      <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
        <div className="flex flex-col gap-1">
          <TextField label="Regions" value={form.regions} onChange={(v) => set("regions", v)} errors={errors["targeting.regions"]} placeholder="all regions" hint="Comma-separated." />
          <KnownValues label="Known regions" options={regions} selected={splitList(form.regions)} onToggle={(v) => set("regions", toggleInList(form.regions, v))} />
        </div>
        <div className="flex flex-col gap-1">
          <TextField
            label="Hardware versions"
            value={form.hardware}
            onChange={(v) => set("hardware", v)}
            errors={errors["targeting.hardware"]}
            placeholder="any hardware"
            hint="Comma-separated."
          />
          <KnownValues label="Hardware this firmware supports" options={hardware} selected={splitList(form.hardware)} onToggle={(v) => set("hardware", toggleInList(form.hardware, v))} />
        </div>
        <TextField label="Tags" value={form.tags} onChange={(v) => set("tags", v)} errors={errors["targeting.tags"]} placeholder="any tags" hint="Devices with any of these tags." />
      </div>
      <div className="flex flex-wrap gap-3">
        <TextField label="Minimum version" value={form.versionMin} onChange={(v) => set("versionMin", v)} errors={errors["targeting.versionMin"]} list={versionList} placeholder="e.g. 4.0.0" className="w-36 font-mono" />
        <TextField label="Maximum version" value={form.versionMax} onChange={(v) => set("versionMax", v)} errors={errors["targeting.versionMax"]} list={versionList} placeholder="e.g. 4.1.9" className="w-36 font-mono" />
        <datalist id={versionList}>
          {versions.map((v) => (
            <option key={v.value} value={v.value} />
          ))}
        </datalist>
        <p className="self-end pb-1 text-xs text-slate-500">Inclusive range of the firmware devices run now.</p>
      </div>
    </FormSection>
  );
}

const STRATEGIES: Array<{ kind: StrategyKind; label: string; hint: string }> = [
  { kind: "canary", label: "Canary, staged, then the rest", hint: "Three waves: a small canary, a staged share, then everyone else." },
  { kind: "equal", label: "Equal waves", hint: "N waves of the same size." },
  { kind: "explicit", label: "Explicit wave sizes", hint: "Sizes you list; devices left over form one last wave." },
];

export function StrategySection({ form, set, errors }: SectionProps) {
  const name = useId();
  return (
    <FormSection title="Strategy" description="How eligible devices are split into waves. Each wave starts when the one before passes its gate." errors={errors.strategy}>
      <div role="radiogroup" aria-label="Wave strategy" className="flex flex-col gap-1.5">
        {/* The hint is the option's description, not part of its name. */}
        {STRATEGIES.map((s) => (
          <div key={s.kind} className="flex items-baseline gap-2 text-sm">
            <input
              type="radio"
              id={`${name}-${s.kind}`}
              name={name}
              value={s.kind}
              checked={form.strategy === s.kind}
              onChange={() => set("strategy", s.kind)}
              aria-describedby={`${name}-${s.kind}-hint`}
            />
            <span>
              <label htmlFor={`${name}-${s.kind}`}>{s.label}</label>{" "}
              <span id={`${name}-${s.kind}-hint`} className="text-xs text-slate-500">
                {s.hint}
              </span>
            </span>
          </div>
        ))}
      </div>
      <div className="flex flex-wrap items-start gap-3">
        {form.strategy === "canary" ? (
          <>
            <NumberField label="Canary %" value={form.canaryPct} onChange={(v) => set("canaryPct", v)} errors={errors["strategy.canaryPct"]} min={0} max={100} step="any" hint="of eligible devices" />
            <NumberField label="Staged %" value={form.stagedPct} onChange={(v) => set("stagedPct", v)} errors={errors["strategy.stagedPct"]} min={0} max={100} step="any" hint="of eligible devices" />
            <p className="self-center pt-3 text-xs text-slate-600">→ then the rest</p>
          </>
        ) : null}
        {form.strategy === "equal" ? (
          <NumberField label="Number of waves" value={form.waves} onChange={(v) => set("waves", v)} errors={errors["strategy.waves"]} min={1} max={100} step={1} />
        ) : null}
        {form.strategy === "explicit" ? (
          <TextField
            label="Wave sizes"
            value={form.sizes}
            onChange={(v) => set("sizes", v)}
            errors={errors["strategy.sizes"]}
            placeholder="10, 100, 1000"
            hint="Devices per wave, comma-separated."
            className="w-64 font-mono"
          />
        ) : null}
      </div>
    </FormSection>
  );
}

export function ThresholdsSection({ form, set, errors }: SectionProps) {
  const d = DEFAULT_SETTINGS;
  const zones = useId();
  const timeZones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return (
    <FormSection
      title="Thresholds"
      description="When a wave may be followed by the next, and when the rollout pauses itself. The defaults suit most rollouts."
      errors={errors.settings}
    >
      <div className="flex flex-wrap items-start gap-3">
        <NumberField label="Success gate %" value={form.successGatePct} onChange={(v) => set("successGatePct", v)} errors={errors["settings.successGate"]} min={1} max={100} step="any" hint={`default ${pct(d.successGate)}`} />
        <NumberField label="Max failure %" value={form.maxFailurePct} onChange={(v) => set("maxFailurePct", v)} errors={errors["settings.maxFailureRate"]} min={0} max={100} step="any" hint={`default ${pct(d.maxFailureRate)}`} />
        <NumberField label="Min sample" value={form.minSample} onChange={(v) => set("minSample", v)} errors={errors["settings.minSample"]} min={1} step={1} hint={`default ${d.minSample}`} />
        <NumberField label="Timeout (minutes)" value={form.timeoutMin} onChange={(v) => set("timeoutMin", v)} errors={errors["settings.timeoutMin"]} min={1} step={1} hint={`per attempt, default ${d.timeoutMin}`} />
        <NumberField label="Retries" value={form.maxRetries} onChange={(v) => set("maxRetries", v)} errors={errors["settings.maxRetries"]} min={0} max={10} step={1} hint={`default ${d.maxRetries}`} />
        <NumberField label="Rate (devices/s)" value={form.ratePerSec} onChange={(v) => set("ratePerSec", v)} errors={errors["settings.ratePerSec"]} min={1} step={1} hint={`default ${d.ratePerSec}`} />
      </div>
      <p className="text-xs text-slate-600">
        A wave passes when {form.successGatePct || "—"}% of its reachable devices succeeded. The rollout pauses itself when more than {form.maxFailurePct || "—"}% of finished devices
        failed, once {form.minSample || "—"} finished (or earlier, when even the 95% confidence interval is above it).
      </p>
      <div className="flex flex-wrap items-start gap-3 border-t border-slate-100 pt-3">
        <TextField
          label="Maintenance window (cron)"
          value={form.windowCron}
          onChange={(v) => set("windowCron", v)}
          errors={errors["settings.window.cron"] ?? errors["settings.window"]}
          placeholder="e.g. 0 2 * * *"
          hint="Optional: devices start only inside it."
          className="w-44 font-mono"
        />
        {form.windowCron.trim() ? (
          <>
            <NumberField label="Window duration (minutes)" value={form.windowDurationMin} onChange={(v) => set("windowDurationMin", v)} errors={errors["settings.window.durationMin"]} min={1} max={1440} step={1} />
            <TextField label="Time zone" value={form.windowTimeZone} onChange={(v) => set("windowTimeZone", v)} errors={errors["settings.window.timeZone"]} list={zones} className="w-52" />
            <datalist id={zones}>
              {timeZones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </>
        ) : null}
      </div>
    </FormSection>
  );
}
