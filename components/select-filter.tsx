export function SelectFilter({
  label,
  value,
  options,
  onChange,
  allLabel = "All",
}: {
  label: string;
  value: string;
  options: Array<{ value: string; count?: number }>;
  onChange: (value: string) => void;
  allLabel?: string;
}) {
  return (
    <label className="flex flex-col gap-0.5 text-xs font-medium text-slate-600">
      {label}
      <select
        aria-label={label}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        className="min-w-32 rounded border border-slate-300 bg-white px-2 py-1 text-sm font-normal text-slate-900"
      >
        <option value="">{allLabel}</option>
        {value !== "" && !options.some((o) => o.value === value) ? <option value={value}>{value}</option> : null}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.value}
            {o.count !== undefined ? ` (${o.count.toLocaleString("en-US")})` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
