// The ingest end to end, from outside: the REAL worker process (server/main.ts
// --worker) on a private Mosquitto run from the shipped config (ACL, device
// and platform listeners) and a fresh database. The tests act as devices over
// MQTT only (PROTOCOL.md) and check the answers, the shadow rows and that
// every message became one shadow_events row with its outcome and code.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnectDb } from "@/server/db/client.ts";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-database.ts";
import { importDevices } from "@/server/devices/mutations.ts";
import { connectTestDevice, startTestMosquitto, type DeviceMessage, type TestDevice, type TestMosquitto } from "@/server/mqtt/test-broker.ts";
import { startTestWorker, waitUntilIngesting, type TestWorker } from "@/server/worker/test-worker.ts";
import { applyDesiredChanges } from "./desired-mutations.ts";

const REGISTERED = ["probe", "d-accept", "d-dup", "d-seq", "d-ver", "d-trans", "d-bad", "d-sync", "d-status", "d-clock", "d-desired", "d-acl-a", "d-acl-b"];
let db: TestDatabase;
let broker: TestMosquitto;
let worker: TestWorker;
let pool: pg.Pool;
const connected: TestDevice[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await startTestMosquitto({ devices: [...REGISTERED, "d-unknown"] });
  process.env.DATABASE_URL = db.url; // importDevices uses the process's Prisma client
  const rows = REGISTERED.map((id, i) => ({ line: i + 2, id, type: "gw-edge", hardwareVersion: "rev-a", region: "eu-west", firmwareVersion: "4.1.0", tags: [] }));
  await importDevices(rows, [], { type: "system", label: "ingest.int.test" }, {});
  pool = db.pool(3);
  worker = startTestWorker({ databaseUrl: db.url, mqttUrl: broker.platformUrl, mqttUsername: broker.platformUsername, mqttPassword: broker.platformPassword, workerId: "rules-1" });
  await worker.waitForLog(/\[ingest\] connected/);
  await waitUntilIngesting(await device("probe"));
}, 120_000);

afterAll(async () => {
  await Promise.all(connected.map((d) => d.end(true)));
  await worker?.stop();
  await broker?.stop();
  await disconnectDb();
  await db?.drop();
});

async function device(id: string, options: Parameters<typeof connectTestDevice>[2] = {}) {
  const d = await connectTestDevice(broker, id, options);
  connected.push(d);
  return d;
}
const now = () => Math.floor(Date.now() / 1000);
let tokens = 0;
type Update = { seq: number; version: number; reported: Record<string, unknown>; deviceTime?: number; clientToken?: string };
const upd = ({ reported, ...rest }: Update) => ({ deviceTime: now(), clientToken: `t${++tokens}`, ...rest, state: { reported } });

/** Publishes a shadow/update and returns its answer (accepted or rejected), matched by clientToken. */
async function send(d: TestDevice, body: ReturnType<typeof upd>): Promise<DeviceMessage> {
  const from = d.messages.length;
  await d.publish("shadow/update", body);
  return d.expectMessage((m) => m.suffix.startsWith("shadow/update/") && m.body?.clientToken === body.clientToken, { from, what: `answer to ${body.clientToken}` });
}
/** Publishes anything and returns the next message on `answer`. */
async function sendRaw(d: TestDevice, suffix: string, payload: unknown, answer: string): Promise<DeviceMessage> {
  const from = d.messages.length;
  await d.publish(suffix, payload);
  return d.expectMessage((m) => m.suffix === answer, { from, what: answer });
}
/** A rejection that must also publish a `sync`. */
async function rejectedWithSync(d: TestDevice, body: ReturnType<typeof upd>) {
  const from = d.messages.length;
  const answer = await send(d, body);
  const sync = await d.expectMessage((m) => m.suffix === "sync", { from, what: `sync after ${answer.body.code}` });
  return { answer, sync: sync.body };
}
async function shadow(id: string) {
  const { rows } = await pool.query(
    `SELECT version, last_seq::int AS "lastSeq", reported, desired, metadata, (SELECT coalesce(jsonb_agg(jsonb_build_object('s', k.seq, 'v', k.version, 't', k.device_time, 'a', k.accepted_version) ORDER BY k.seq), '[]')
               FROM shadow_replay_keys k WHERE k.device_id = device_shadows.device_id) AS "recentKeys", changes, online,
            clock_skew_sec AS "clockSkewSec" FROM device_shadows WHERE device_id = $1`,
    [id],
  );
  return rows[0];
}
async function events(id: string) {
  const { rows } = await pool.query(
    `SELECT kind, outcome, code, seq::int AS seq, version, accepted_version AS "acceptedVersion", payload
       FROM shadow_events WHERE device_id = $1 ORDER BY server_time, seq NULLS FIRST`,
    [id],
  );
  return rows as Array<{ kind: string; outcome: string; code: string | null; seq: number | null; version: number | null; acceptedVersion: number | null; payload: any }>;
}
const outcomes = async (id: string) => (await events(id)).map((e) => [e.kind, e.outcome, e.code].filter(Boolean).join(" "));
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 50))) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
  }
}

describe("ingest worker over MQTT (PROTOCOL.md)", () => {
  it("accepts an update: version V+1, reported merged (null removes), metadata stamped; shadow/get returns the document", async () => {
    const d = await device("d-accept");
    const u1 = upd({ seq: 1, version: 1, reported: { power: "ON", firmware: { version: "4.1.5", status: "idle" }, temp: 20 } });
    const first = await send(d, u1);
    expect(first.suffix).toBe("shadow/update/accepted");
    expect(first.body).toEqual({ version: 1, timestamp: expect.any(Number), clientToken: u1.clientToken, duplicate: false, state: { reported: { power: "ON", firmware: { version: "4.1.5", status: "idle" }, temp: 20 } } });
    const second = await send(d, upd({ seq: 2, version: 2, reported: { power: "ACTIVE", firmware: { status: "downloading" }, temp: null } }));
    const reported = { power: "ACTIVE", firmware: { version: "4.1.5", status: "downloading" } };
    expect(second.body).toMatchObject({ version: 2, duplicate: false, state: { reported } });

    const row = await shadow("d-accept");
    expect(row).toMatchObject({ version: 2, lastSeq: 2, reported });
    const stamp = { timestamp: expect.any(Number) };
    expect(row.metadata.reported).toEqual({ power: stamp, firmware: { version: stamp, status: stamp } });
    expect(Math.abs(row.metadata.reported.power.timestamp - now())).toBeLessThan(10);
    const { rows } = await pool.query("SELECT firmware_version FROM devices WHERE id = 'd-accept'");
    expect(rows[0].firmware_version).toBe("4.1.5");

    const get = await sendRaw(d, "shadow/get", { clientToken: "g1" }, "shadow/get/accepted");
    expect(get.body).toEqual({
      state: { desired: {}, reported, delta: {} },
      metadata: { reported: row.metadata.reported, desired: {}, lastSeq: 2, deviceClock: expect.any(Number), serverClock: expect.any(Number), clockSkew: expect.any(Number) },
      version: 2,
      timestamp: expect.any(Number),
      clientToken: "g1",
    });
    expect(await shadow("d-accept")).toEqual(row); // read only
    expect(await events("d-accept")).toMatchObject([
      { kind: "update", outcome: "accepted", code: null, seq: 1, version: 1, acceptedVersion: 1 },
      { kind: "update", outcome: "accepted", code: null, seq: 2, version: 2, acceptedVersion: 2 },
      { kind: "get", outcome: "info", code: null },
    ]);
  });

  it("answers replays as duplicates (ten times, and an older one in the window) and changes nothing", async () => {
    const d = await device("d-dup");
    const sent = [1, 2, 3].map((i) => upd({ seq: i, version: i, reported: { counter: i } }));
    for (const u of sent) expect((await send(d, u)).body).toMatchObject({ version: u.version, duplicate: false });
    const doc = async () => ({ ...(await shadow("d-dup")), clockSkewSec: undefined }); // presence (skew) may move, the shadow not
    const before = await doc();
    await Promise.all(Array.from({ length: 10 }, () => d.publish("shadow/update", sent[2])));
    const replies = () => d.messages.filter((m) => m.body?.clientToken === sent[2]!.clientToken).slice(1);
    await until(async () => replies().length, (n) => n >= 10);
    expect(replies()).toHaveLength(10);
    for (const r of replies()) expect(r).toMatchObject({ suffix: "shadow/update/accepted", body: { version: 3, duplicate: true, state: { reported: { counter: 3 } } } });
    expect((await send(d, sent[0]!)).body).toMatchObject({ version: 1, duplicate: true }); // 2 seqs back: a redelivered batch
    expect(await doc()).toEqual(before);
    expect((await send(d, upd({ seq: 100, version: 4, reported: { counter: 4 } }))).body).toMatchObject({ version: 4, duplicate: false });
    expect((await send(d, sent[0]!)).body).toMatchObject({ version: 1, duplicate: true }); // 99 seqs back: still in the window
    const evs = await events("d-dup");
    expect(evs.filter((e) => e.outcome === "accepted").map((e) => e.acceptedVersion)).toEqual([1, 2, 3, 4]);
    expect(evs.filter((e) => e.outcome === "duplicate").map((e) => e.acceptedVersion).sort()).toEqual([1, 1, ...Array(10).fill(3)]);
    expect(evs).toHaveLength(16);
    expect(await shadow("d-dup")).toMatchObject({ version: 4, lastSeq: 100, reported: { counter: 4 } });
  });

  it("rejects out_of_order and seq_window_exceeded with a sync; 100 ahead is fine", async () => {
    const d = await device("d-seq");
    await send(d, upd({ seq: 10, version: 1, reported: { n: 1 } }));
    const same = await rejectedWithSync(d, upd({ seq: 10, version: 2, reported: { n: 2 } }));
    expect(same.answer).toMatchObject({ suffix: "shadow/update/rejected", body: { code: "out_of_order", currentVersion: 1, lastSeq: 10, message: expect.any(String) } });
    expect(same.sync).toMatchObject({ type: "sync", mode: "none", toVersion: 1 });
    expect((await rejectedWithSync(d, upd({ seq: 5, version: 2, reported: { n: 2 } }))).answer.body).toMatchObject({ code: "out_of_order" });
    const far = await rejectedWithSync(d, upd({ seq: 111, version: 2, reported: { n: 2 } }));
    expect(far.answer.body).toMatchObject({ code: "seq_window_exceeded", currentVersion: 1, lastSeq: 10 });
    expect((await send(d, upd({ seq: 110, version: 2, reported: { n: 2 } }))).body).toMatchObject({ version: 2, duplicate: false });
    expect(await shadow("d-seq")).toMatchObject({ version: 2, lastSeq: 110, reported: { n: 2 } });
    expect(await outcomes("d-seq")).toEqual(["update accepted", "update rejected out_of_order", "update rejected out_of_order", "update rejected seq_window_exceeded", "update accepted"]);
  });

  it("rejects stale_version and version_gap with currentVersion and a sync; lastSeq still advances", async () => {
    const d = await device("d-ver");
    await send(d, upd({ seq: 1, version: 1, reported: { a: 1 } }));
    await send(d, upd({ seq: 2, version: 2, reported: { b: 2 } }));
    const stale = await rejectedWithSync(d, upd({ seq: 3, version: 2, reported: { c: 3 } }));
    expect(stale.answer.body).toMatchObject({ code: "stale_version", currentVersion: 2, lastSeq: 3 });
    expect(stale.sync).toMatchObject({ type: "sync", mode: "delta", fromVersion: 1, toVersion: 2, state: { reported: { b: 2 } } });
    const gap = await rejectedWithSync(d, upd({ seq: 4, version: 5, reported: { c: 3 } }));
    expect(gap.answer.body).toMatchObject({ code: "version_gap", currentVersion: 2, lastSeq: 4 });
    expect(gap.sync).toMatchObject({ type: "sync", mode: "full", fromVersion: null, toVersion: 2, state: { reported: { a: 1, b: 2 }, desired: {} } });
    expect(await shadow("d-ver")).toMatchObject({ version: 2, lastSeq: 4, reported: { a: 1, b: 2 } });
    expect((await send(d, upd({ seq: 5, version: 3, reported: { c: 3 } }))).body).toMatchObject({ version: 3 });
    expect(await outcomes("d-ver")).toEqual(["update accepted", "update accepted", "update rejected stale_version", "update rejected version_gap", "update accepted"]);
  });

  it("rejects invalid transitions with attribute, from and to", async () => {
    const d = await device("d-trans");
    await send(d, upd({ seq: 1, version: 1, reported: { power: "OFF", firmware: { status: "idle" } } }));
    expect((await send(d, upd({ seq: 2, version: 2, reported: { power: "ACTIVE" } }))).body).toMatchObject({ code: "invalid_transition", attribute: "power", from: "OFF", to: "ACTIVE", currentVersion: 1 });
    expect((await send(d, upd({ seq: 3, version: 2, reported: { firmware: { status: "installing" } } }))).body).toMatchObject({ code: "invalid_transition", attribute: "firmware.status", from: "idle", to: "installing" });
    expect((await send(d, upd({ seq: 4, version: 2, reported: { power: "ON", firmware: { status: "downloading" } } }))).body).toMatchObject({ version: 2, duplicate: false });
    expect(await shadow("d-trans")).toMatchObject({ version: 2, lastSeq: 4, reported: { power: "ON", firmware: { status: "downloading" } } });
    expect(await outcomes("d-trans")).toEqual(["update accepted", "update rejected invalid_transition", "update rejected invalid_transition", "update accepted"]);
  });

  it("rejects malformed JSON, bad fields and payloads over 8 KiB, and keeps going", async () => {
    const d = await device("d-bad");
    expect((await sendRaw(d, "shadow/update", "{not json", "shadow/update/rejected")).body).toMatchObject({ code: "invalid_payload" });
    expect((await send(d, { seq: 1, clientToken: "bad-fields" } as never)).body).toMatchObject({ code: "invalid_payload", clientToken: "bad-fields" });
    const big = JSON.stringify(upd({ seq: 1, version: 1, reported: { blob: "x".repeat(9000) } }));
    expect((await sendRaw(d, "shadow/update", big, "shadow/update/rejected")).body).toMatchObject({ code: "payload_too_large" });
    expect(worker.running).toBe(true);
    // Text no JSON store keeps (jsonb refuses \u0000): refused alone, never failing the batch it arrives in.
    const nul = String.raw`{"seq":1,"version":1,"deviceTime":${Math.floor(Date.now() / 1000)},"clientToken":"nul","state":{"reported":{"note":"a\u0000b"}}}`;
    expect((await sendRaw(d, "shadow/update", nul, "shadow/update/rejected")).body).toMatchObject({ code: "invalid_payload", clientToken: "nul" });
    // Messages without an answer carry such text too; their events are kept as text.
    await d.publish("status", String.raw`{"online":true,"note":"\u0000"}`);
    expect((await send(d, upd({ seq: 1, version: 1, reported: { ok: true } }))).body).toMatchObject({ version: 1, duplicate: false });
    expect(await outcomes("d-bad")).toEqual([
      "update rejected invalid_payload",
      "update rejected invalid_payload",
      "update rejected payload_too_large",
      "update rejected invalid_payload",
      "status rejected invalid_payload",
      "update accepted",
    ]);
    const { rows } = await pool.query(`SELECT payload FROM shadow_events WHERE device_id = 'd-bad' AND kind = 'status'`);
    expect(rows).toEqual([{ payload: { unstorableJson: String.raw`{"online":true,"note":"\u0000"}`, bytes: 31 } }]);
    expect((await events("d-bad"))[2]!.payload).toEqual({ bytes: Buffer.byteLength(big) });
  });

  it("rejects an unregistered device and stores nothing for it but the event", async () => {
    const d = await device("d-unknown");
    expect((await send(d, upd({ seq: 1, version: 1, reported: { x: 1 } }))).body).toMatchObject({ code: "unknown_device" });
    expect(await shadow("d-unknown")).toBeUndefined();
    expect(await outcomes("d-unknown")).toEqual(["update rejected unknown_device"]);
  });

  it("answers sync/request with none, delta or full; its seq resets the window; sync/complete records convergence", async () => {
    const d = await device("d-sync");
    for (const i of [1, 2, 3]) await send(d, upd({ seq: i, version: i, reported: { [`k${i}`]: i } }));
    const sync = (body: object) => sendRaw(d, "sync/request", { deviceTime: now(), ...body }, "sync").then((m) => m.body);
    expect(await sync({ seq: 4, currentVersion: 3 })).toEqual({ type: "sync", mode: "none", fromVersion: 3, toVersion: 3, state: {} });
    const delta = await sync({ seq: 5, currentVersion: 1 });
    expect(delta).toMatchObject({ type: "sync", mode: "delta", fromVersion: 1, toVersion: 3 });
    expect(delta.state.reported).toEqual({ k2: 2, k3: 3 }); // the changes in (1, 3], not k1
    expect(await sync({ seq: 6, currentVersion: 9 })).toMatchObject({ type: "sync", mode: "full", fromVersion: null, toVersion: 3, state: { reported: { k1: 1, k2: 2, k3: 3 }, desired: {}, delta: {} } });
    const far = await rejectedWithSync(d, upd({ seq: 200, version: 4, reported: { k4: 4 } }));
    expect(far.answer.body).toMatchObject({ code: "seq_window_exceeded", lastSeq: 6 });
    await sync({ seq: 250, currentVersion: 3 });
    expect((await send(d, upd({ seq: 300, version: 4, reported: { k4: 4 } }))).body).toMatchObject({ version: 4, duplicate: false });
    await sync({ seq: 280, currentVersion: 4 }); // a lower seq does not move lastSeq back
    expect(await shadow("d-sync")).toMatchObject({ version: 4, lastSeq: 300 });
    await d.publish("sync/complete", { seq: 301, version: 4 });
    const complete = await until(async () => (await events("d-sync")).find((e) => e.kind === "sync_complete"), Boolean);
    expect(complete).toMatchObject({ outcome: "info", seq: 301, version: 4, payload: { seq: 301, version: 4, convergenceMs: expect.any(Number) } });
    expect(complete!.payload.convergenceMs).toBeGreaterThanOrEqual(0);
    expect(await shadow("d-sync")).toMatchObject({ lastSeq: 301 });
    const evs = await outcomes("d-sync");
    expect(evs.filter((e) => e === "sync_request info")).toHaveLength(5);
    expect(evs).toHaveLength(5 + 5 + 1); // updates, sync requests, sync complete
  });

  it("tracks online/offline from the retained status and the will", async () => {
    const will = { topic: "fleet/d-status/status", payload: Buffer.from(JSON.stringify({ online: false })), qos: 1 as const, retain: true };
    const d = await device("d-status", { will });
    await d.publish("status", { online: true }, { retain: true });
    expect(await until(() => shadow("d-status"), (s) => s.online === true)).toMatchObject({ online: true });
    (d.client.stream as unknown as { destroy(): void }).destroy(); // no DISCONNECT: the broker publishes the will
    expect(await until(() => shadow("d-status"), (s) => s.online === false)).toMatchObject({ online: false, version: 0 });
    expect(await until(() => outcomes("d-status"), (e) => e.length >= 2)).toEqual(["status info", "status info"]);
  });

  it("flags clock skew over 300 s as an open clock_drift finding without rejecting, and resolves it when the clock is back", async () => {
    const d = await device("d-clock");
    expect((await send(d, upd({ seq: 1, version: 1, deviceTime: now() - 1000, reported: { x: 1 } }))).body).toMatchObject({ version: 1, duplicate: false });
    const findings = () => pool.query("SELECT kind, severity, title, resolved_at FROM device_findings WHERE device_id = 'd-clock'").then((r) => r.rows);
    expect(await findings()).toEqual([{ kind: "clock_drift", severity: "warning", title: "Device clock drift detected", resolved_at: null }]);
    expect((await shadow("d-clock")).clockSkewSec).toBeGreaterThan(990);
    await send(d, upd({ seq: 2, version: 2, reported: { x: 2 } }));
    expect(await findings()).toEqual([expect.objectContaining({ kind: "clock_drift", resolved_at: expect.any(Date) })]);
  });

  it("publishes shadow/delta with the new version after a desired change committed by the platform", async () => {
    const d = await device("d-desired");
    await send(d, upd({ seq: 1, version: 1, reported: { firmware: { version: "4.1.5", status: "idle" } } }));
    const from = d.messages.length;
    const desired = { firmware: { version: "4.2.1", url: "https://fw.example/4.2.1", sha256: "ab".repeat(32), size: 1024 } };
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      expect(await applyDesiredChanges(client, [{ deviceId: "d-desired", patch: desired }])).toEqual(new Map([["d-desired", 2]]));
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const delta = await d.expectMessage((m) => m.suffix === "shadow/delta", { from, what: "shadow/delta" });
    expect(delta.body).toEqual({ version: 2, timestamp: expect.any(Number), state: { firmware: { version: "4.2.1", url: desired.firmware.url, sha256: desired.firmware.sha256, size: 1024 } } });
    expect((await send(d, upd({ seq: 2, version: 3, reported: { firmware: { status: "downloading" } } }))).body).toMatchObject({ version: 3, duplicate: false });
    expect(await shadow("d-desired")).toMatchObject({ version: 3, desired });
  });

  it("ACL: a device cannot publish into another device's topics", async () => {
    const forger = await device("d-acl-a");
    const forged = upd({ seq: 1, version: 1, reported: { power: "OFF" } });
    await expect(forger.publish("fleet/d-acl-b/shadow/update", forged)).rejects.toMatchObject({ code: 135 }); // not authorized
    await forger.end(true); // Mosquitto also drops the connection after a denied publish
    const spy = await device("d-acl-a");
    await spy.client.subscribeAsync("fleet/d-acl-b/#", { qos: 1 });
    const victim = await device("d-acl-b");
    // Had the forged update got through, this identical one would be a duplicate.
    expect((await send(victim, forged)).body).toMatchObject({ version: 1, duplicate: false });
    expect(await outcomes("d-acl-b")).toEqual(["update accepted"]);
    expect(await events("d-acl-a")).toEqual([]);
    expect(spy.messages).toEqual([]);
  });
});
