"use client";
import { useId, type ReactNode } from "react";
import { Field, inputClass } from "@/components/field.tsx";

export function NumberField({
  label,
  value,
  onChange,
  errors,
  hint,
  min,
  max,
  step,
  className = "w-28",
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors: string[] | undefined;
  hint?: ReactNode;
  min?: number;
  max?: number;
  step?: number | "any";
  className?: string;
}) {
  return (
    <Field label={label} hint={hint} errors={errors}>
      {(p) => <input {...p} type="number" inputMode="decimal" min={min} max={max} step={step} value={value} onChange={(e) => onChange(e.target.value)} className={`${inputClass} ${className} tabular-nums`} />}
    </Field>
  );
}

export function TextField({
  label,
  value,
  onChange,
  errors,
  hint,
  placeholder,
  list,
  className = "w-full",
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors: string[] | undefined;
  hint?: ReactNode;
  placeholder?: string;
  list?: string;
  className?: string;
}) {
  return (
    <Field label={label} hint={hint} errors={errors}>
      {(p) => (
        <input {...p} type="text" autoComplete="off" spellCheck={false} list={list} placeholder={placeholder} value={value} onChange={(e) => onChange(e.target.value)} className={`${inputClass} ${className}`} />
      )}
    </Field>
  );
}

/** Known values as toggles under a comma-separated list input: one click adds or removes a value. Counts are devices. */
export function KnownValues({ label, options, selected, onToggle }: { label: string; options: Array<{ value: string; count?: number }>; selected: string[]; onToggle: (value: string) => void }) {
  if (options.length === 0) return null;
  return (
    <div role="group" aria-label={label} className="flex flex-wrap gap-1">
      {options.map((o) => {
        const on = selected.includes(o.value);
        return (
          <button
            key={o.value}
            type="button"
            aria-pressed={on}
            // The name says what the number is: "eu-west (8 devices)", where the text alone reads "eu-west8".
            aria-label={o.count !== undefined ? `${o.value} (${o.count.toLocaleString("en-US")} ${o.count === 1 ? "device" : "devices"})` : undefined}
            onClick={() => onToggle(o.value)}
            className={`rounded border px-1.5 py-0.5 text-[11px] font-medium ${on ? "border-sky-600 bg-sky-50 text-sky-800" : "border-slate-300 bg-white text-slate-600 hover:bg-slate-50"}`}
          >
            <span aria-hidden>{on ? "✓ " : "+ "}</span>
            {o.value}
            {o.count !== undefined ? <span className="ml-1 font-normal text-slate-500">{o.count.toLocaleString("en-US")}</span> : null}
          </button>
        );
      })}
    </div>
  );
}

/** A titled group of fields; `errors` is what the server said about the whole group. */
export function FormSection({ title, description, errors, children }: { title: string; description?: ReactNode; errors?: string[]; children: ReactNode }) {
  const id = useId();
  return (
    <fieldset aria-labelledby={`${id}-legend`} className="min-w-0 rounded border border-slate-200 bg-white p-4">
      <h2 id={`${id}-legend`} className="text-sm font-semibold">
        {title}
      </h2>
      {description ? <p className="mt-0.5 text-xs text-slate-600">{description}</p> : null}
      <div className="mt-3 flex flex-col gap-3">{children}</div>
      {errors?.length ? (
        <p className="mt-2 text-xs text-red-700">{errors.join(" ")}</p>
      ) : null}
    </fieldset>
  );
}
