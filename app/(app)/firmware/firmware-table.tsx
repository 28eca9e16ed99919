import { Badge } from "@/components/badge.tsx";
import { CopyButton } from "@/components/copy-button.tsx";
import { formatUtc } from "@/components/rollout-time.tsx";
import { DataTable } from "@/components/data-table.tsx";
import { EmptyState } from "@/components/states.tsx";
import type { Firmware } from "@/server/firmware/schema.ts";

const COLUMNS = ["Version", "Type", "Hardware", "Min version", "Size", "SHA-256", "Signature", "Uploaded by", "Uploaded"];

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function FirmwareTable({ rows, loading, filtered }: { rows: Firmware[] | undefined; loading: boolean; filtered: boolean }) {
  if (!loading && rows?.length === 0) {
    return (
      <EmptyState title={filtered ? "No firmware for this type" : "No firmware yet"}>
        {filtered ? (
          "Choose another type, or clear the filter."
        ) : (
          <>
            Images are uploaded on this page or with <code className="font-mono text-xs">npm run fleet -- firmware upload</code>.
          </>
        )}
      </EmptyState>
    );
  }
  return (
    <DataTable label="Firmware" columns={COLUMNS} rows={rows} loading={loading}>
      {(f) => (
        <tr key={f.id} className="hover:bg-slate-50">
          <td className="px-3 py-1.5 font-mono text-xs" title={f.releaseNotes || undefined}>
            {f.version}
          </td>
          <td className="px-3 py-1.5">{f.deviceType}</td>
          <td className="px-3 py-1.5 text-slate-600">{f.compatibleHardware.length ? f.compatibleHardware.join(", ") : <span className="text-slate-400">any</span>}</td>
          <td className="px-3 py-1.5 font-mono text-xs text-slate-600">{f.minVersion ?? "—"}</td>
          <td className="whitespace-nowrap px-3 py-1.5 text-xs tabular-nums" title={`${f.size.toLocaleString("en-US")} bytes`}>
            {formatSize(f.size)}
          </td>
          <td className="px-3 py-1.5 font-mono text-xs text-slate-600">
            {/* The start of the hash; the whole of it one click (or key, or tap) away, to read, select or copy. */}
            <div className="flex items-start gap-1.5">
              <details className="min-w-0">
                <summary title={f.sha256} className="cursor-pointer whitespace-nowrap">
                  {f.sha256.slice(0, 12)}…
                </summary>
                <p className="mt-1 w-[16ch] select-all break-all text-slate-800">{f.sha256}</p>
              </details>
              <CopyButton text={f.sha256} label={`Copy SHA-256 of ${f.version}`} />
            </div>
          </td>
          <td className="px-3 py-1.5">
            {f.signatureKeyId ? (
              <Badge tone="good" title={`Verified with key ${f.signatureKeyId}`}>
                Signed · {f.signatureKeyId}
              </Badge>
            ) : (
              <Badge tone="warn">Unsigned</Badge>
            )}
          </td>
          <td className="px-3 py-1.5 text-xs text-slate-600">{f.uploadedBy}</td>
          <td className="whitespace-nowrap px-3 py-1.5 text-xs text-slate-600" title={f.createdAt.toISOString()}>
            {formatUtc(f.createdAt)}
          </td>
        </tr>
      )}
    </DataTable>
  );
}
