import type { ReactNode } from "react";
import { LoadingRows } from "./states.tsx";

/** A column header: its label (also its React key), or what to show instead (a sort button) and its aria-sort. */
export type DataColumn = { label: string; header?: ReactNode; sort?: "ascending" | "descending" };

/**
 * The shell of every list table: bordered, scrolling sideways when narrow, one
 * header row, skeleton rows while `rows` load (aria-busy), then `children(row)`
 * for each row (a <tr> with its key).
 */
export function DataTable<T>({
  label,
  columns,
  rows,
  loading,
  loadingRows,
  children,
}: {
  label: string;
  columns: ReadonlyArray<string | DataColumn>;
  rows: readonly T[] | undefined;
  loading: boolean;
  loadingRows?: number;
  children: (row: T) => ReactNode;
}) {
  return (
    <div className="overflow-x-auto rounded border border-slate-200 bg-white">
      <table className="w-full text-left text-sm" aria-label={label} aria-busy={loading}>
        <thead className="border-b border-slate-200 bg-slate-50 text-xs text-slate-600">
          <tr>
            {columns.map((column) => {
              const { label: name, header, sort } = typeof column === "string" ? { label: column } : column;
              return (
                <th key={name} scope="col" className="whitespace-nowrap px-3 py-2 font-medium" aria-sort={sort}>
                  {header ?? name}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{loading || !rows ? <LoadingRows columns={columns.length} rows={loadingRows} /> : rows.map((row) => children(row))}</tbody>
      </table>
    </div>
  );
}
