"use client";
import { useId, type ReactNode } from "react";

export const inputClass = "rounded border border-slate-300 bg-white px-2 py-1 text-sm font-normal text-slate-900 aria-[invalid=true]:border-red-500";

type ControlProps = { id: string; "aria-invalid": true | undefined; "aria-describedby": string | undefined };

/** A labelled control with its hint and its errors, both read out with it. `id` defaults to a generated one. */
export function Field({
  id: givenId,
  label,
  hint,
  errors,
  className,
  children,
}: {
  id?: string;
  label: string;
  hint?: ReactNode;
  errors: string[] | undefined;
  className?: string;
  children: (props: ControlProps) => ReactNode;
}) {
  const generatedId = useId();
  const id = givenId ?? generatedId;
  const described = [hint ? `${id}-hint` : null, errors?.length ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`flex flex-col gap-1 text-xs font-medium text-slate-700 ${className ?? ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": errors?.length ? true : undefined, "aria-describedby": described })}
      {hint ? (
        <span id={`${id}-hint`} className="font-normal text-slate-500">
          {hint}
        </span>
      ) : null}
      {errors?.length ? (
        <span id={`${id}-error`} className="font-normal text-red-700">
          {errors.join(" ")}
        </span>
      ) : null}
    </div>
  );
}
