"use client";
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { ErrorState } from "@/components/states.tsx";
import { Field, inputClass } from "@/components/field.tsx";
import type { Firmware } from "@/server/firmware/schema.ts";

type FieldErrors = Record<string, string[] | undefined>;
type Outcome = { kind: "idle" } | { kind: "uploading" } | { kind: "done"; firmware: Firmware } | { kind: "refused"; message: string; fieldErrors: FieldErrors };

async function postFirmware(form: FormData): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch("/api/firmware", { method: "POST", body: form });
  } catch {
    return { kind: "refused", message: "The server could not be reached. Check the connection and try again.", fieldErrors: {} };
  }
  const body = (await response.json().catch(() => null)) as (Firmware & { error?: string; fieldErrors?: FieldErrors }) | null;
  if (response.status === 201 && body) return { kind: "done", firmware: { ...body, createdAt: new Date(body.createdAt) } };
  if (response.status === 401) return { kind: "refused", message: "Your session has ended. Sign in again to upload.", fieldErrors: {} };
  return { kind: "refused", message: body?.error ?? `The upload failed (HTTP ${response.status}).`, fieldErrors: body?.fieldErrors ?? {} };
}

export function UploadForm({ maxMb, requireSignature, deviceTypes }: { maxMb: number; requireSignature: boolean; deviceTypes: string[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const uid = useId();
  const [outcome, setOutcome] = useState<Outcome>({ kind: "idle" });
  const errors = outcome.kind === "refused" ? outcome.fieldErrors : {};
  const id = (name: string) => `${uid}-${name}`;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    // An empty optional file input still sends a nameless empty part; leave it out.
    const signature = form.get("signature");
    if (signature instanceof File && signature.size === 0) form.delete("signature");
    setOutcome({ kind: "uploading" });
    const result = await postFirmware(form);
    setOutcome(result);
    if (result.kind === "done") {
      formElement.reset();
      await queryClient.invalidateQueries({ queryKey: trpc.firmware.list.queryKey() });
    }
  }

  const uploading = outcome.kind === "uploading";
  return (
    <form onSubmit={onSubmit} aria-label="Upload firmware" noValidate className="flex flex-col gap-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Field id={id("file")} label="Image file" hint={`Up to ${maxMb} MB.`} errors={errors.file}>
          {(p) => <input {...p} name="file" type="file" required className="text-sm font-normal" />}
        </Field>
        <Field id={id("version")} label="Version" hint="Semantic version, e.g. 4.2.0." errors={errors.version}>
          {(p) => <input {...p} name="version" required autoComplete="off" spellCheck={false} className={inputClass} />}
        </Field>
        <Field id={id("deviceType")} label="Device type" errors={errors.deviceType}>
          {(p) => (
            <>
              <input {...p} name="deviceType" required autoComplete="off" list={id("types")} className={inputClass} />
              <datalist id={id("types")}>
                {deviceTypes.map((t) => (
                  <option key={t} value={t} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field id={id("minVersion")} label="Minimum version (optional)" hint="Devices below it update to an intermediate release first." errors={errors.minVersion}>
          {(p) => <input {...p} name="minVersion" autoComplete="off" spellCheck={false} className={inputClass} />}
        </Field>
        <Field id={id("compatibleHardware")} label="Compatible hardware (optional)" hint="Comma-separated; empty means any." errors={errors.compatibleHardware}>
          {(p) => <input {...p} name="compatibleHardware" autoComplete="off" placeholder="rev-a, rev-b" className={inputClass} />}
        </Field>
        <Field
          id={id("signature")}
          label={requireSignature ? "Signature file" : "Signature file (optional)"}
          hint="Detached Ed25519 signature of the image, raw or base64."
          errors={errors.signature}
        >
          {(p) => <input {...p} name="signature" type="file" required={requireSignature} className="text-sm font-normal" />}
        </Field>
        <div className="sm:col-span-2">
          <Field id={id("releaseNotes")} label="Release notes (optional)" errors={errors.releaseNotes}>
            {(p) => <textarea {...p} name="releaseNotes" rows={2} maxLength={10_000} className={inputClass} />}
          </Field>
        </div>
      </div>
      <div className="flex items-center gap-3">
        <button type="submit" disabled={uploading} className="rounded bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
          {uploading ? "Uploading…" : "Upload firmware"}
        </button>
        <p role="status" className="text-xs text-emerald-700">
          {outcome.kind === "done"
            ? `Uploaded ${outcome.firmware.deviceType} ${outcome.firmware.version} (SHA-256 ${outcome.firmware.sha256.slice(0, 12)}…, ${outcome.firmware.signatureKeyId ? `signed by ${outcome.firmware.signatureKeyId}` : "unsigned"}).`
            : ""}
        </p>
      </div>
      {outcome.kind === "refused" && Object.keys(outcome.fieldErrors).length === 0 ? <ErrorState title="The firmware was not uploaded" message={outcome.message} /> : null}
      {outcome.kind === "refused" && Object.keys(outcome.fieldErrors).length > 0 ? (
        <p role="alert" className="text-xs text-red-700">
          {outcome.message}
        </p>
      ) : null}
    </form>
  );
}
