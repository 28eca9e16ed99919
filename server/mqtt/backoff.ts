// "Full jitter" exponential backoff (AWS architecture blog, "Exponential Backoff
// And Jitter"): a uniformly random delay in [0, min(cap, base · 2^attempt)).
// Spreading reconnects over the whole window is what keeps a fleet (or a pool of
// workers) from reconnecting in lockstep after a broker restart.

/** Delay in ms before retry number `attempt` (0 = first retry). */
export function fullJitterBackoff(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30); // 2^30 · base is past any sane cap
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
