// Pure operations on shadow documents (PROTOCOL.md, "The shadow document").
// Leaves are compared deeply; a key set to null in a patch removes the key.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One accepted change, kept so a reconnecting device can be sent only what changed. */
export type VersionChange = { v: number; reported?: JsonObject; desired?: JsonObject };

export const SYNC_DELTA_MAX_VERSIONS = 10;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Applies a patch: objects merge recursively, null removes, anything else replaces. */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isObject(value)) {
      const merged = mergePatch(isObject(out[key]) ? (out[key] as JsonObject) : {}, value);
      if (Object.keys(merged).length === 0 && !isObject(out[key])) delete out[key];
      else out[key] = merged;
    } else out[key] = value;
  }
  return out;
}

/** Combines two patches into one that has the effect of applying both in order (nulls kept). */
export function composePatches(first: JsonObject, second: JsonObject): JsonObject {
  const out: JsonObject = { ...first };
  for (const [key, value] of Object.entries(second)) {
    out[key] = isObject(value) && isObject(out[key]) ? composePatches(out[key] as JsonObject, value) : value;
  }
  return out;
}

/** The desired leaves whose values differ from reported. */
export function computeDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  const delta: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = reported[key];
    if (isObject(want)) {
      const inner = computeDelta(want, isObject(have) ? have : {});
      if (Object.keys(inner).length > 0) delta[key] = inner;
    } else if (!deepEqual(want, have)) delta[key] = want;
  }
  return delta;
}

/** Mirrors a patch's leaves into `{ timestamp }` metadata, removing entries for removed keys. */
export function stampMetadata(metadata: JsonObject, patch: JsonObject, timestamp: number): JsonObject {
  const out: JsonObject = { ...metadata };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isObject(value)) {
      // As mergePatch: merge into a nested object, start over from a leaf (a `{ timestamp: number }` stamp),
      // and add no entry for an object the patch leaves empty (e.g. `{ a: { b: null } }` with no `a`).
      const current = out[key];
      const wasObject = isObject(current) && !(Object.keys(current).length === 1 && typeof current.timestamp === "number");
      const merged = stampMetadata(wasObject ? (current as JsonObject) : {}, value, timestamp);
      if (Object.keys(merged).length === 0 && !wasObject) delete out[key];
      else out[key] = merged;
    } else out[key] = { timestamp };
  }
  return out;
}

export function appendChange(changes: VersionChange[], change: VersionChange): VersionChange[] {
  return [...changes, change].slice(-SYNC_DELTA_MAX_VERSIONS);
}

/**
 * What changed in (fromVersion, toVersion], or null when the kept history
 * does not cover the range (the caller then sends the full document).
 */
export function changesBetween(changes: VersionChange[], fromVersion: number, toVersion: number): { desired: JsonObject; reported: JsonObject } | null {
  const wanted = changes.filter((c) => c.v > fromVersion && c.v <= toVersion);
  if (wanted.length !== toVersion - fromVersion) return null;
  let desired: JsonObject = {};
  let reported: JsonObject = {};
  for (const change of wanted.sort((a, b) => a.v - b.v)) {
    if (change.desired) desired = composePatches(desired, change.desired);
    if (change.reported) reported = composePatches(reported, change.reported);
  }
  return { desired, reported };
}

/** The byte size of a value as JSON, for the payload limit of documents the platform builds. */
export function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
