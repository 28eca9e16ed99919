// runIngestWrite's handling of the batch statement's answer, without a database
// (the statement itself: mutations.int.test.ts).
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { prepareIngestWrite, runIngestWrite, ShadowConflict, type BatchWrite } from "./mutations.ts";

const at = new Date("2026-01-01T00:00:00Z");
const batch: BatchWrite = {
  shadows: [{ deviceId: "a", expected: { version: 1, lastSeq: 1 }, next: null, desiredChanged: false, lastSeenAt: at, online: true, deviceClockAt: null, clockSkewSec: null, firmwareVersion: null }],
  events: [{ deviceId: "a", serverTime: at, kind: "status", outcome: "info", payload: { online: true } }],
  replayKeys: [],
  findings: [],
  checked: [],
};

function fakeDb(answer: (config: { name?: string; text: string; values: unknown[] }) => unknown) {
  const calls: Array<{ name?: string }> = [];
  const db = {
    query: async (config: { name?: string; text: string; values: unknown[] }) => {
      calls.push({ name: config.name });
      return { rows: [answer(config)] };
    },
  };
  return { db: db as unknown as pg.PoolClient, calls };
}

describe("runIngestWrite", () => {
  it("reports the stale devices of a batch the gate turned away", async () => {
    const { db } = fakeDb(() => ({ go: false, stale: ["a"], written: 0 }));
    await expect(runIngestWrite(db, prepareIngestWrite(batch, true))).rejects.toEqual(new ShadowConflict(["a"]));
  });

  it("sends nothing for a batch with nothing to write", async () => {
    const { db, calls } = fakeDb(() => ({ go: true, stale: null, written: 0 }));
    await runIngestWrite(db, prepareIngestWrite({ ...batch, shadows: [], events: [] }, true));
    expect(calls).toEqual([]);
  });

  it("falls back to unnamed statements when the connection does not keep prepared ones (a transaction pooler)", async () => {
    const { db, calls } = fakeDb((config) => {
      if (config.name) throw Object.assign(new Error(`prepared statement "${config.name}" does not exist`), { code: "26000" });
      return { go: true, stale: null, written: 1 };
    });
    await runIngestWrite(db, prepareIngestWrite(batch, true));
    await runIngestWrite(db, prepareIngestWrite(batch, false));
    expect(calls).toEqual([{ name: "fleetwave_ingest_batch_r" }, { name: undefined }, { name: undefined }]);
  });
});
