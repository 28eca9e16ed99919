import type { ReactNode } from "react";

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded border border-dashed border-slate-300 bg-white px-6 py-10 text-center">
      <p className="text-sm font-medium text-slate-800">{title}</p>
      {children ? <div className="mt-1 text-sm text-slate-500">{children}</div> : null}
    </div>
  );
}

export function ErrorState({ title = "Could not load this view", message, onRetry }: { title?: string; message: string; onRetry?: () => void }) {
  return (
    <div role="alert" className="rounded border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
      <p className="font-medium">{title}</p>
      <p className="mt-0.5">{message}</p>
      {onRetry ? (
        <button type="button" onClick={onRetry} className="mt-2 rounded border border-red-300 bg-white px-2 py-1 text-xs font-medium hover:bg-red-100">
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function LoadingRows({ columns, rows = 8 }: { columns: number; rows?: number }) {
  return (
    <>
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r} aria-hidden>
          {Array.from({ length: columns }, (_, c) => (
            <td key={c} className="px-3 py-2">
              <div className="h-3 animate-pulse rounded bg-slate-100" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

export function Forbidden({ what }: { what: string }) {
  return (
    <section aria-labelledby="forbidden-title" className="mx-auto mt-16 max-w-md rounded border border-slate-200 bg-white p-6 text-center">
      <p className="text-xs font-semibold uppercase tracking-wide text-red-700">403 · Forbidden</p>
      <h1 id="forbidden-title" className="mt-1 text-lg font-semibold text-slate-900">
        You don&apos;t have access to {what}
      </h1>
      <p className="mt-2 text-sm text-slate-600">Your role does not include this. Ask an admin if you need it.</p>
    </section>
  );
}
