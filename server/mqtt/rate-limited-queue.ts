// A token bucket in front of a sender: bursts up to `burst`, then `ratePerSec`.
// Used for sync answers, so a whole fleet reconnecting at once does not flood
// the broker (or the devices' own links) in one instant.
export class RateLimitedQueue<T> {
  private readonly items: T[] = [];
  private tokens: number;
  private last = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly ratePerSec: number,
    private readonly burst = ratePerSec,
  ) {
    this.tokens = burst;
  }

  get pending() {
    return this.items.length;
  }

  push(items: T[]) {
    for (const item of items) this.items.push(item);
    this.drain();
  }

  private refill() {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
  }

  private drain() {
    this.refill();
    const n = Math.min(this.items.length, Math.floor(this.tokens));
    if (n > 0) {
      this.tokens -= n;
      this.send(this.items.splice(0, n));
    }
    if (this.items.length > 0 && !this.timer) {
      const wait = Math.max(5, Math.ceil(((1 - (this.tokens % 1)) / this.ratePerSec) * 1000));
      this.timer = setTimeout(() => {
        this.timer = null;
        this.drain();
      }, wait);
    }
  }

  /** Sends everything still queued, ignoring the rate (shutdown). */
  flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.items.length > 0) this.send(this.items.splice(0));
  }
}
