// Summarises a V8 .cpuprofile (the worker run with --cpu-prof) over a time
// window: self time by package / project file and by function, so "where
// does the worker's CPU go" has an answer.
import fs from "node:fs";
import path from "node:path";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export type ProfileSummary = {
  sampledMs: number;
  byModule: Array<{ name: string; ms: number; pct: number }>;
  byFunction: Array<{ name: string; ms: number; pct: number }>;
};

function moduleOf(url: string, root: string): string {
  if (url === "") return "(native/vm)";
  if (url.startsWith("node:")) return "node: internals";
  const file = url.replace(/^file:\/\//, "").replace(/\?.*$/, "");
  const nm = file.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = file.slice(nm + "/node_modules/".length).split("/");
    return `npm:${rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return path.relative(root, file);
}

/**
 * Self time of the samples inside any of `windows` ([fromUs, toUs], sorted;
 * CLOCK_MONOTONIC microseconds, process.hrtime.bigint() / 1000n in the
 * benches), idle excluded. No windows: the whole profile.
 */
export function summariseProfile(
  file: string,
  root: string,
  windows: Array<[number, number]> = [[-Infinity, Infinity]],
  top = { modules: 15, functions: 25 },
): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let w = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    while (w < windows.length && windows[w]![1] < t) w++;
    if (w >= windows.length) break;
    if (t < windows[w]![0]) continue;
    // A sample's time is the gap to the next one.
    const next = profile.timeDeltas[i + 1] ?? delta;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + next);
  }
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") continue;
    total += us;
    const mod = functionName.startsWith("(") ? functionName : moduleOf(url, root);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const fn = functionName.startsWith("(") ? functionName : `${functionName || "(anonymous)"} ${moduleOf(url, root)}:${lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const largest = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: total > 0 ? Math.round((us / total) * 1000) / 10 : 0 }));
  return { sampledMs: Math.round(total / 1000), byModule: largest(modules, top.modules), byFunction: largest(functions, top.functions) };
}
