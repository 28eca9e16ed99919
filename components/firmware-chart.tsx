"use client";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

/** Devices per firmware version. The same numbers are listed as text beside it for screen readers. */
export function FirmwareChart({ data }: { data: Array<{ value: string; count: number }> }) {
  return (
    <div className="h-40 w-full" aria-hidden>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data.slice(0, 12)} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
          <XAxis dataKey="value" tick={{ fontSize: 11 }} interval={0} />
          <YAxis tick={{ fontSize: 11 }} allowDecimals={false} />
          <Tooltip formatter={(v) => [Number(v).toLocaleString("en-US"), "devices"]} />
          <Bar dataKey="count" fill="#0284c7" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
