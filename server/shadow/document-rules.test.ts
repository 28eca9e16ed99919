// PROTOCOL.md, "The shadow document": nested merge where null removes a key,
// per-leaf metadata timestamps, delta = desired leaves differing from
// reported, and the short change history that delta syncs are built from.
import { describe, expect, it } from "vitest";
import {
  SYNC_DELTA_MAX_VERSIONS,
  appendChange,
  changesBetween,
  composePatches,
  computeDelta,
  deepEqual,
  jsonSize,
  mergePatch,
  stampMetadata,
  type JsonObject,
  type VersionChange,
} from "./document-rules.ts";

describe("deepEqual", () => {
  it("compares leaves, arrays and objects by value", () => {
    expect(deepEqual(1, 1)).toBe(true);
    expect(deepEqual("4.2.1", "4.2.1")).toBe(true);
    expect(deepEqual(null, null)).toBe(true);
    expect(deepEqual([1, { a: 2 }], [1, { a: 2 }])).toBe(true);
    expect(deepEqual({ a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 })).toBe(true);
  });

  it("tells different values, types and shapes apart", () => {
    expect(deepEqual(1, "1")).toBe(false);
    expect(deepEqual(0, false)).toBe(false);
    expect(deepEqual(null, undefined)).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual([1], [1, 1])).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false);
    expect(deepEqual({}, [])).toBe(false);
  });
});

describe("mergePatch", () => {
  it("merges nested objects key by key", () => {
    const reported = { firmware: { version: "4.1.5", status: "idle" }, power: "ON" };
    expect(mergePatch(reported, { firmware: { status: "downloading" } })).toEqual({ firmware: { version: "4.1.5", status: "downloading" }, power: "ON" });
    expect(mergePatch(reported, { firmware: { progress: { percent: 10 } } })).toEqual({
      firmware: { version: "4.1.5", status: "idle", progress: { percent: 10 } },
      power: "ON",
    });
  });

  it("a key set to null is removed, at any depth", () => {
    const reported = { firmware: { version: "4.1.5", status: "idle", errorCode: "E42" }, power: "ON" };
    expect(mergePatch(reported, { power: null })).toEqual({ firmware: { version: "4.1.5", status: "idle", errorCode: "E42" } });
    expect(mergePatch(reported, { firmware: { errorCode: null } })).toEqual({ firmware: { version: "4.1.5", status: "idle" }, power: "ON" });
    expect(mergePatch(reported, { firmware: null })).toEqual({ power: "ON" });
  });

  it("removing a key that is not there changes nothing and stores no null", () => {
    const reported = { power: "ON" };
    expect(mergePatch(reported, { errorCode: null })).toEqual({ power: "ON" });
    expect(mergePatch(reported, { firmware: { errorCode: null } })).toEqual({ power: "ON" });
  });

  it("the PROTOCOL example report stores no errorCode: null", () => {
    const patch = { firmware: { version: "4.2.1", status: "completed", checksum: "sha256:ab", previousVersion: "4.1.5", updateDuration: 127, errorCode: null } };
    expect(mergePatch({ firmware: { version: "4.1.5", status: "installing", errorCode: "E1" } }, patch)).toEqual({
      firmware: { version: "4.2.1", status: "completed", checksum: "sha256:ab", previousVersion: "4.1.5", updateDuration: 127 },
    });
  });

  it("replaces leaves, arrays, and a leaf with an object or an object with a leaf", () => {
    expect(mergePatch({ a: 1 }, { a: 2 })).toEqual({ a: 2 });
    expect(mergePatch({ a: [1, 2, 3] }, { a: [4] })).toEqual({ a: [4] });
    expect(mergePatch({ a: 1 }, { a: { b: 2 } })).toEqual({ a: { b: 2 } });
    expect(mergePatch({ a: { b: 2 } }, { a: 1 })).toEqual({ a: 1 });
    expect(mergePatch({ a: "x" }, { a: false })).toEqual({ a: false });
    expect(mergePatch({ a: "x" }, { a: 0 })).toEqual({ a: 0 });
  });

  it("does not mutate its inputs", () => {
    const target = { firmware: { version: "1", status: "idle" } };
    const patch = { firmware: { status: "downloading", x: null } };
    const t = structuredClone(target);
    const p = structuredClone(patch);
    mergePatch(target, patch);
    expect(target).toEqual(t);
    expect(patch).toEqual(p);
  });
});

describe("stampMetadata", () => {
  const T = 1_721_305_247;

  it("stamps every leaf of the patch with the timestamp, mirroring the nesting", () => {
    expect(stampMetadata({}, { firmware: { version: "4.2.1", status: "idle" }, power: "ON" }, T)).toEqual({
      firmware: { version: { timestamp: T }, status: { timestamp: T } },
      power: { timestamp: T },
    });
  });

  it("keeps the timestamps of leaves the patch does not touch", () => {
    const meta = stampMetadata({}, { firmware: { version: "4.1.5", status: "idle" }, power: "ON" }, T);
    expect(stampMetadata(meta, { firmware: { status: "downloading" } }, T + 60)).toEqual({
      firmware: { version: { timestamp: T }, status: { timestamp: T + 60 } },
      power: { timestamp: T },
    });
  });

  it("removes the entry with the key (null)", () => {
    const meta = stampMetadata({}, { firmware: { version: "4.1.5", errorCode: "E1" }, power: "ON" }, T);
    expect(stampMetadata(meta, { firmware: { errorCode: null }, power: null }, T + 1)).toEqual({ firmware: { version: { timestamp: T } } });
    expect(stampMetadata(meta, { firmware: null }, T + 1)).toEqual({ power: { timestamp: T } });
  });

  it("an array is one leaf", () => {
    expect(stampMetadata({}, { sensors: [1, 2, 3] }, T)).toEqual({ sensors: { timestamp: T } });
  });

  it("follows a leaf turning into an object and back", () => {
    const leaf = stampMetadata({}, { mode: "eco" }, T);
    const obj = stampMetadata(leaf, { mode: { name: "eco", level: 2 } }, T + 1);
    expect(obj).toEqual({ mode: { name: { timestamp: T + 1 }, level: { timestamp: T + 1 } } });
    expect(stampMetadata(obj, { mode: "turbo" }, T + 2)).toEqual({ mode: { timestamp: T + 2 } });
  });

  it("a reported key that is itself called `timestamp` is a leaf like any other", () => {
    const meta = stampMetadata({}, { gps: { timestamp: 1_700_000_000 } }, T);
    expect(meta).toEqual({ gps: { timestamp: { timestamp: T } } });
    expect(stampMetadata(meta, { gps: { lat: 52.5 } }, T + 5)).toEqual({ gps: { timestamp: { timestamp: T }, lat: { timestamp: T + 5 } } });
  });

  it("has exactly the keys of the merged document, whatever the patches", () => {
    const patches: JsonObject[] = [
      { firmware: { version: "4.1.5", status: "idle", errorCode: null }, power: "ON" },
      { firmware: { errorCode: "E7" } },
      { gps: { timestamp: 1, lat: 1 } },
      { gps: { lat: null }, ghost: { nested: null } },
      { firmware: { errorCode: null }, power: null },
      { gps: null, mode: { a: { b: 1 } }, temperature: 40 },
      { temperature: {}, mode: {} },
    ];
    let doc: JsonObject = {};
    let meta: JsonObject = {};
    const shape = (o: JsonObject, leafIsStamp: boolean): unknown =>
      Object.fromEntries(
        Object.entries(o).map(([k, v]) => {
          const isLeaf = leafIsStamp ? typeof v === "object" && v !== null && Object.keys(v).length === 1 && typeof (v as JsonObject).timestamp === "number" : typeof v !== "object" || v === null || Array.isArray(v);
          return [k, isLeaf ? "leaf" : shape(v as JsonObject, leafIsStamp)];
        }),
      );
    for (const [i, patch] of patches.entries()) {
      doc = mergePatch(doc, patch);
      meta = stampMetadata(meta, patch, T + i);
      expect(shape(meta, true), `after patch ${i}`).toEqual(shape(doc, false));
    }
  });
});

describe("computeDelta", () => {
  it("is the PROTOCOL example: desired firmware {version,url,sha256,size} vs reported {version,status}", () => {
    const desired = { firmware: { version: "4.2.1", url: "https://fw/4.2.1", sha256: "ab12", size: 1_048_576 } };
    const reported = { firmware: { version: "4.1.5", status: "idle" }, power: "ON" };
    expect(computeDelta(desired, reported)).toEqual({ firmware: { version: "4.2.1", url: "https://fw/4.2.1", sha256: "ab12", size: 1_048_576 } });
  });

  it("holds only the leaves that differ", () => {
    const desired = { firmware: { version: "4.2.1", url: "u", sha256: "s", size: 1 }, power: "ON" };
    const reported = { firmware: { version: "4.2.1", url: "u", status: "completed" }, power: "ON" };
    expect(computeDelta(desired, reported)).toEqual({ firmware: { sha256: "s", size: 1 } });
  });

  it("is empty when reported has converged, and ignores reported-only keys", () => {
    const desired = { firmware: { version: "4.2.1" }, power: "ON" };
    expect(computeDelta(desired, { firmware: { version: "4.2.1", status: "completed" }, power: "ON", temperature: 41 })).toEqual({});
    expect(computeDelta({}, { power: "ON" })).toEqual({});
  });

  it("compares leaves deeply and by type", () => {
    expect(computeDelta({ channels: [1, 2] }, { channels: [1, 2] })).toEqual({});
    expect(computeDelta({ channels: [1, 2] }, { channels: [2, 1] })).toEqual({ channels: [1, 2] });
    expect(computeDelta({ size: 1 }, { size: "1" })).toEqual({ size: 1 });
    expect(computeDelta({ enabled: false }, {})).toEqual({ enabled: false });
  });

  it("a desired object against a reported leaf or nothing yields all its leaves", () => {
    expect(computeDelta({ mode: { name: "eco", level: 2 } }, { mode: "eco" })).toEqual({ mode: { name: "eco", level: 2 } });
    expect(computeDelta({ mode: { name: "eco", level: 2 } }, {})).toEqual({ mode: { name: "eco", level: 2 } });
  });

  it("a desired leaf against a reported object differs", () => {
    expect(computeDelta({ mode: "eco" }, { mode: { name: "eco" } })).toEqual({ mode: "eco" });
  });
});

describe("change history (the last 10 versions)", () => {
  const change = (v: number): VersionChange => ({ v, reported: { n: v } });
  const history = (from: number, to: number) => {
    let h: VersionChange[] = [];
    for (let v = from; v <= to; v++) h = appendChange(h, change(v));
    return h;
  };

  it("keeps the last 10 changes", () => {
    expect(SYNC_DELTA_MAX_VERSIONS).toBe(10);
    expect(history(1, 25).map((c) => c.v)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(history(1, 3).map((c) => c.v)).toEqual([1, 2, 3]);
  });

  it("changesBetween covers (from, to], composing patches in version order", () => {
    const h: VersionChange[] = [
      { v: 5, desired: { firmware: { version: "4.2.1", url: "u1" } } },
      { v: 6, reported: { firmware: { status: "downloading" } } },
      { v: 7, reported: { firmware: { status: "verifying" }, power: "ACTIVE" } },
      { v: 8, desired: { firmware: { url: "u2" } } },
    ];
    expect(changesBetween(h, 4, 8)).toEqual({
      desired: { firmware: { version: "4.2.1", url: "u2" } },
      reported: { firmware: { status: "verifying" }, power: "ACTIVE" },
    });
    expect(changesBetween(h, 6, 8)).toEqual({ desired: { firmware: { url: "u2" } }, reported: { firmware: { status: "verifying" }, power: "ACTIVE" } });
    expect(changesBetween(h, 7, 7)).toEqual({ desired: {}, reported: {} });
    expect(changesBetween(h, 6, 7)).toEqual({ desired: {}, reported: { firmware: { status: "verifying" }, power: "ACTIVE" } });
  });

  it("keeps removals (null) so the device can apply them", () => {
    const h: VersionChange[] = [
      { v: 1, reported: { firmware: { errorCode: "E1" }, power: "ON" } },
      { v: 2, reported: { firmware: { errorCode: null } } },
    ];
    expect(changesBetween(h, 0, 2)).toEqual({ desired: {}, reported: { firmware: { errorCode: null }, power: "ON" } });
  });

  it("is null when the kept history does not cover the range", () => {
    const h = history(11, 20);
    expect(changesBetween(h, 10, 20)).not.toBeNull();
    expect(changesBetween(h, 9, 20)).toBeNull();
    expect(changesBetween([], 0, 1)).toBeNull();
    expect(changesBetween([change(1), change(3)], 0, 3)).toBeNull();
  });

  it("applying the composed changes to the state at `from` gives the state at `to`", () => {
    const patches: JsonObject[] = [
      { firmware: { version: "4.1.5", status: "idle" }, power: "ON" },
      { firmware: { status: "downloading", progress: 10 } },
      { firmware: { progress: 80 }, power: "ACTIVE" },
      { firmware: { progress: null, status: "verifying" } },
      { power: null, temperature: 40 },
      { firmware: { status: "installing", errorCode: null } },
    ];
    const states: JsonObject[] = [{}];
    let h: VersionChange[] = [];
    for (const [i, p] of patches.entries()) {
      states.push(mergePatch(states[i]!, p));
      h = appendChange(h, { v: i + 1, reported: p });
    }
    for (let from = 0; from < patches.length; from++) {
      const c = changesBetween(h, from, patches.length)!;
      expect(mergePatch(states[from]!, c.reported), `from ${from}`).toEqual(states[patches.length]);
    }
  });

  // Known limitation (see README.md): a merge patch cannot say "replace this object", so when a key
  // is removed or set to a leaf and later set to an object within the range, the composed patch
  // merges that object into whatever the device still has under the key.
  it.todo("composes `{ a: null }` then `{ a: { c: 2 } }` so that a device holding `a: { b: 1 }` ends with `a: { c: 2 }`");

  it("composePatches keeps the later value and nested keys of both", () => {
    expect(composePatches({ a: 1, b: { c: 1, d: 1 } }, { b: { d: 2, e: null }, f: 3 })).toEqual({ a: 1, b: { c: 1, d: 2, e: null }, f: 3 });
    expect(composePatches({ a: { b: 1 } }, { a: null })).toEqual({ a: null });
  });
});

describe("jsonSize", () => {
  it("counts UTF-8 bytes of the JSON text", () => {
    expect(jsonSize({ a: 1 })).toBe(7);
    expect(jsonSize({ a: "é" })).toBe(10);
  });
});
