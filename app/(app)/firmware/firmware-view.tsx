"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useCallback, useState } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { Pagination } from "@/components/pagination.tsx";
import { SelectFilter } from "@/components/select-filter.tsx";
import { ErrorState } from "@/components/states.tsx";
import type { FirmwareListInput } from "@/server/firmware/schema.ts";
import { firmwareInputFromParams, paramsFromFirmwareInput } from "./params.ts";
import { FirmwareTable } from "./firmware-table.tsx";
import { UploadForm } from "./upload-form.tsx";

/** `upload` is null for roles without firmware:upload: they get no upload controls at all. */
export function FirmwareView({ upload }: { upload: { maxMb: number; requireSignature: boolean } | null }) {
  const trpc = useTRPC();
  const searchParams = useSearchParams();
  const [input, setInput] = useState<FirmwareListInput>(() => firmwareInputFromParams(searchParams));
  const [uploadOpen, setUploadOpen] = useState(false);

  const update = useCallback((patch: Partial<FirmwareListInput>) => {
    setInput((prev) => {
      const next = { ...prev, ...patch, page: patch.page ?? 1 };
      const qs = paramsFromFirmwareInput(next).toString();
      window.history.replaceState(null, "", qs ? `?${qs}` : window.location.pathname);
      return next;
    });
  }, []);

  const list = useQuery(trpc.firmware.list.queryOptions(input, { placeholderData: keepPreviousData }));
  const deviceTypes = list.data?.deviceTypes ?? [];

  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-baseline justify-between">
        <h1 className="text-lg font-semibold">Firmware</h1>
        {upload ? (
          <button
            type="button"
            aria-expanded={uploadOpen}
            aria-controls={uploadOpen ? "firmware-upload" : undefined}
            onClick={() => setUploadOpen((open) => !open)}
            className="rounded border border-slate-300 bg-white px-2 py-1 text-xs font-medium hover:bg-slate-50"
          >
            {uploadOpen ? "Close upload" : "Upload firmware"}
          </button>
        ) : null}
      </div>

      {upload && uploadOpen ? (
        <section id="firmware-upload" aria-labelledby="firmware-upload-title" className="rounded border border-slate-200 bg-white p-4">
          <h2 id="firmware-upload-title" className="text-sm font-semibold">
            Upload firmware
          </h2>
          <p className="mb-3 mt-1 text-xs text-slate-600">
            One image per device type and version. {upload.requireSignature ? "A verified signature is required." : "Signed images record the key that verified them."}
          </p>
          <UploadForm maxMb={upload.maxMb} requireSignature={upload.requireSignature} deviceTypes={deviceTypes.map((t) => t.value)} />
        </section>
      ) : null}

      <section aria-label="Filters" className="flex flex-wrap items-end gap-3">
        <SelectFilter label="Type" value={input.deviceType ?? ""} options={deviceTypes} onChange={(v) => update({ deviceType: v || undefined })} />
      </section>

      {list.error ? (
        <ErrorState message={list.error.message} onRetry={() => void list.refetch()} />
      ) : (
        <FirmwareTable rows={list.data?.items} loading={list.isPending} filtered={Boolean(input.deviceType)} />
      )}
      {list.data && list.data.total > 0 ? <Pagination page={list.data.page} pageSize={list.data.pageSize} total={list.data.total} onPage={(page) => update({ page })} label="images" /> : null}
    </div>
  );
}
