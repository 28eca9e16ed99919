// What a benchmark measured: the commit, and the tracked files that differ from
// it (read-only git: --no-optional-locks, so it never writes the index).
import { execFileSync } from "node:child_process";

export function gitState(root: string): { commit: string | null; dirty: string[] } {
  const git = (...a: string[]) => execFileSync("git", a, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trimEnd();
  try {
    return { commit: git("rev-parse", "HEAD"), dirty: git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no").split("\n").filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: null, dirty: [] };
  }
}
