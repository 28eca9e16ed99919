export function JsonBlock({ title, value, emptyText = "empty" }: { title: string; value: unknown; emptyText?: string }) {
  const empty = value === null || (typeof value === "object" && Object.keys(value as object).length === 0);
  return (
    <section aria-label={title} className="min-w-0 rounded border border-slate-200 bg-white">
      <h3 className="border-b border-slate-100 px-3 py-1.5 text-xs font-medium text-slate-600">{title}</h3>
      {empty ? (
        <p className="px-3 py-2 text-xs italic text-slate-400">{emptyText}</p>
      ) : (
        <pre className="max-h-72 overflow-auto px-3 py-2 font-mono text-xs leading-5 text-slate-800">{JSON.stringify(value, null, 2)}</pre>
      )}
    </section>
  );
}
