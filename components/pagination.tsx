export function Pagination({
  page,
  pageSize,
  total,
  onPage,
  label = "rows",
}: {
  page: number;
  pageSize: number;
  total: number;
  onPage: (page: number) => void;
  label?: string;
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  const button = "rounded border border-slate-300 bg-white px-2 py-1 text-xs font-medium disabled:opacity-40 hover:bg-slate-50";
  return (
    <nav aria-label="Pagination" className="flex items-center justify-between gap-2 text-xs text-slate-600">
      <span>
        {first.toLocaleString("en-US")}–{last.toLocaleString("en-US")} of {total.toLocaleString("en-US")} {label}
      </span>
      <span className="flex items-center gap-1">
        <button type="button" className={button} onClick={() => onPage(1)} disabled={page <= 1} aria-label="First page">
          «
        </button>
        <button type="button" className={button} onClick={() => onPage(page - 1)} disabled={page <= 1} aria-label="Previous page">
          ‹ Prev
        </button>
        <span className="px-1">
          Page {page} of {pages.toLocaleString("en-US")}
        </span>
        <button type="button" className={button} onClick={() => onPage(page + 1)} disabled={page >= pages} aria-label="Next page">
          Next ›
        </button>
        <button type="button" className={button} onClick={() => onPage(pages)} disabled={page >= pages} aria-label="Last page">
          »
        </button>
      </span>
    </nav>
  );
}
