// Semantic versions (semver 2.0 precedence, build metadata ignored).
import { SEMVER_PATTERN } from "@/server/devices/rules.ts";

export function isVersion(value: string): boolean {
  return SEMVER_PATTERN.test(value);
}

function parts(version: string) {
  const [core, pre] = version.split("+")[0]!.split(/-(.*)/s) as [string, string | undefined];
  return { nums: core.split(".").map(Number), pre: pre === undefined || pre === "" ? null : pre.split(".") };
}

export function compareVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return (x.nums[i] ?? 0) < (y.nums[i] ?? 0) ? -1 : 1;
  if (x.pre === null || y.pre === null) return x.pre === y.pre ? 0 : x.pre === null ? 1 : -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) < Number(q) ? -1 : 1;
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}
