// Current shadows of recently active devices, so the ingest (and a mass
// reconnect's sync answers) need no per-device read. It is only a hint:
// every write is guarded by version and lastSeq, and a conflict evicts the
// entry and re-reads it. Unknown ids are remembered briefly, so a flood from
// an unregistered id costs no query per message either. The ingest also puts
// the states its batch in flight will commit here before the COMMIT (so the
// next batch can be decided meanwhile) and takes them back if it fails.
import type { StoredShadow } from "./data.ts";

const UNKNOWN_TTL_MS = 10_000;

export class ShadowCache {
  private readonly known = new Map<string, StoredShadow>();
  private readonly unknown = new Map<string, number>();
  /** How many evict() calls so far: an entry saved before one may be stale. */
  evictions = 0;

  constructor(private readonly capacity = Number(process.env.SHADOW_CACHE_SIZE ?? 200_000)) {}

  get size() {
    return this.known.size;
  }

  /** Splits ids into cached entries and ids that must be read. */
  lookup(ids: Iterable<string>, now = Date.now()): { hits: Map<string, StoredShadow>; misses: string[] } {
    const hits = new Map<string, StoredShadow>();
    const misses: string[] = [];
    for (const id of ids) {
      const entry = this.known.get(id);
      if (entry) {
        // Map order is insertion order: re-inserting marks the entry as recently used.
        this.known.delete(id);
        this.known.set(id, entry);
        hits.set(id, entry);
      } else if ((this.unknown.get(id) ?? 0) > now) continue;
      else misses.push(id);
    }
    return { hits, misses };
  }

  set(id: string, entry: StoredShadow) {
    this.unknown.delete(id);
    this.known.delete(id);
    this.known.set(id, entry);
    while (this.known.size > this.capacity) {
      const oldest = this.known.keys().next().value as string;
      this.known.delete(oldest);
    }
  }

  markUnknown(id: string, now = Date.now()) {
    this.unknown.set(id, now + UNKNOWN_TTL_MS);
    if (this.unknown.size > 100_000) this.unknown.clear();
  }

  evict(ids: Iterable<string>) {
    this.evictions++;
    for (const id of ids) {
      this.known.delete(id);
      this.unknown.delete(id);
    }
  }

  clear() {
    this.known.clear();
    this.unknown.clear();
  }
}
