"use client";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { ErrorState } from "@/components/states.tsx";

export function ImportPanel() {
  const trpc = useTRPC();
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const importDevices = useMutation(trpc.devices.import.mutationOptions());

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!file) {
      setFileError("Choose a CSV file first.");
      return;
    }
    setFileError(null);
    importDevices.mutate({ csv: await file.text(), fileName: file.name });
  }

  const result = importDevices.data;
  return (
    <section aria-labelledby="import-title" className="rounded border border-slate-200 bg-white p-4">
      <h2 id="import-title" className="text-sm font-semibold">
        Import devices
      </h2>
      <p className="mt-1 text-xs text-slate-600">
        A factory manifest in CSV with the columns <code className="font-mono">id,type,hardwareVersion,region,firmwareVersion,tags</code> (tags separated by
        “;”). Good rows are registered; bad rows are listed by line and skipped. Re-importing a device updates its type, hardware, region and tags.
      </p>
      <form onSubmit={onSubmit} className="mt-3 flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
          Manifest file
          <input
            type="file"
            accept=".csv,text/csv"
            aria-label="Manifest file"
            aria-invalid={fileError ? true : undefined}
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              importDevices.reset();
            }}
            className="text-sm"
          />
        </label>
        <button type="submit" disabled={importDevices.isPending} className="rounded bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
          {importDevices.isPending ? "Importing…" : "Import devices"}
        </button>
        {fileError ? (
          <p role="alert" className="text-xs text-red-700">
            {fileError}
          </p>
        ) : null}
      </form>
      {importDevices.error ? (
        <div className="mt-3">
          <ErrorState title="Import failed" message={importDevices.error.message} />
        </div>
      ) : null}
      {result ? (
        <div className="mt-3 flex flex-col gap-2" role="status" aria-label="Import result">
          <p className="text-sm">
            <strong>{result.created.toLocaleString("en-US")}</strong> created, <strong>{result.updated.toLocaleString("en-US")}</strong> updated,{" "}
            <strong>{result.unchanged.toLocaleString("en-US")}</strong> unchanged,{" "}
            <strong className={result.errors.length ? "text-red-700" : ""}>{result.errors.length.toLocaleString("en-US")}</strong> rejected.
          </p>
          {result.errors.length > 0 ? (
            <table className="w-full max-w-3xl text-left text-xs" aria-label="Rejected rows">
              <thead className="text-slate-600">
                <tr>
                  <th scope="col" className="w-20 py-1">Line</th>
                  <th scope="col" className="py-1">Reason</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {result.errors.slice(0, 500).map((e) => (
                  <tr key={e.line}>
                    <td className="py-1 font-mono">{e.line}</td>
                    <td className="py-1 text-red-800">{e.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {result.errors.length > 500 ? <p className="text-xs text-slate-500">Showing the first 500 rejected rows.</p> : null}
        </div>
      ) : null}
    </section>
  );
}
