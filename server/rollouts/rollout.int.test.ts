// The rollout controller end to end, from outside: the REAL worker process
// (server/main.ts --worker, killable) on a private Mosquitto and a fresh
// database, simulated devices (server/sim, in this process) that download
// their signed links over HTTP from the real download route, install and
// report over MQTT as PROTOCOL.md says. The tests launch rollouts through the
// product's own mutation and read what the controller did from the database.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnectDb } from "@/server/db/client.ts";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-database.ts";
import { connectTestDevice, startTestMosquitto, type TestDevice, type TestMosquitto } from "@/server/mqtt/test-broker.ts";
import { startSimulation, type Simulation } from "@/server/sim/fleet.ts";
import { startTestWorker, waitUntilIngesting, type TestWorker } from "@/server/worker/test-worker.ts";
import { getRollout } from "./data.ts";
import { abortRollout, launchRollout, resumeRollout } from "./mutations.ts";
import { planFor } from "./plan-data.ts";
import { launchInputSchema, planInputSchema } from "./schema.ts";
import {
  auditOf, byState, deltasOf, deviceIds, executionRows, registerDevices, rolloutRow, startDownloadServer, TEST_ACTOR, until, uploadTestFirmware, waveRows,
  type DownloadServer, type ExecutionRow,
} from "./test-support.ts";

const FROM = "1.0.0";
const TARGET = "2.0.0";
const BAD = "6.6.6"; // the simulator fails every update to it
const FLEETS = {
  complete: { type: "rl-complete", ids: deviceIds("rc", 300) },
  bad: { type: "rl-bad", ids: deviceIds("rb", 60) },
  retry: { type: "rl-retry", ids: deviceIds("rr", 20) },
  offline: { type: "rl-offline", ids: deviceIds("ro", 40) },
  timeout: { type: "rl-timeout", ids: deviceIds("rt", 4) },
  crash: { type: "rl-crash", ids: deviceIds("rk", 150) },
  mismatch: { type: "rl-mismatch", ids: [] as string[] },
  window: { type: "rl-window", ids: deviceIds("rw", 6) },
  abort: { type: "rl-abort", ids: [] as string[] },
};
/** A device the abort test plays: it takes the notification and does nothing with it. */
const IDLE = "ra-idle";
/** A device the test plays: it says "completed" but reports another version. */
const LIAR = "rm-liar";
/** Devices the tests play themselves over MQTT: they take the notification and never finish. */
const STUCK = ["rt-stuck-1", "rt-stuck-2"];
const OFFLINE_SEED = "offline-waves";
const SIM_BASE = {
  rate: 0, // no telemetry: only syncs and firmware updates
  ota: { speed: 100, failRates: new Map([[BAD, 1]]), concurrency: 50 },
  statePath: null,
  responseTimeoutMs: 3000,
  connectRate: 2000,
  log: () => undefined,
};

let db: TestDatabase;
let pool: pg.Pool;
let broker: TestMosquitto;
let downloads: DownloadServer;
let worker: TestWorker;
let sim: Simulation;
const sims: Simulation[] = [];
const workers: TestWorker[] = [];
const testDevices: TestDevice[] = [];
const firmware = new Map<string, { id: string; version: string }>();
/** Devices of the offline test's first wave that never connect, and those last seen 11 minutes ago. */
let neverConnected: string[] = [];
let silent: string[] = [];
const firmwareDir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-rollout-fw-"));
const LINK_SECRET = "rollout-test-link-secret";

async function startWorker(): Promise<TestWorker> {
  const w = startTestWorker({
    databaseUrl: db.url,
    mqttUrl: broker.platformUrl,
    mqttUsername: broker.platformUsername,
    mqttPassword: broker.platformPassword,
    workerId: "rollouts-1", // the same id after a kill: the worker resumes its broker session
    env: { PUBLIC_URL: downloads.url, FIRMWARE_LINK_SECRET: LINK_SECRET, ROLLOUT_PASS_MS: "200" },
  });
  workers.push(w);
  await w.waitForLog(/\[ingest\] connected/);
  await w.waitForLog(/leader: controlling rollouts/);
  return w;
}

beforeAll(async () => {
  process.env.FIRMWARE_DIR = firmwareDir;
  process.env.FIRMWARE_LINK_SECRET = LINK_SECRET;
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url; // the product's mutations (launch, import, upload) use the process's pool
  pool = db.pool(4);
  await registerDevices(["probe"], "probe", FROM);
  for (const [name, fleet] of Object.entries(FLEETS)) {
    await registerDevices(name === "timeout" ? [...fleet.ids, ...STUCK] : name === "mismatch" ? [LIAR] : name === "abort" ? [IDLE] : fleet.ids, fleet.type, FROM);
    const fw = await uploadTestFirmware(fleet.type, name === "bad" || name === "retry" ? BAD : TARGET);
    firmware.set(name, { id: fw.id, version: fw.version });
  }
  // The offline test's first wave, known before the launch (the same seed plans the same waves).
  const plan = await planFor(pool, planInputSchema.parse({ firmwareId: firmware.get("offline")!.id, strategy: { kind: "equal", waves: 2 }, seed: OFFLINE_SEED }));
  [neverConnected, silent] = [plan.waves[0]!.deviceIds.slice(0, 2), plan.waves[0]!.deviceIds.slice(2, 4)];
  // "Silent for 10 minutes": said online, then nothing since.
  await pool.query(`UPDATE device_shadows SET online = true, last_seen_at = now() - interval '11 minutes' WHERE device_id = ANY($1::text[])`, [silent]);
  // The devices the tests connect themselves have their own credentials on the device listener.
  broker = await startTestMosquitto({ devices: ["probe", LIAR, IDLE, ...STUCK, ...neverConnected, ...silent] });
  downloads = await startDownloadServer();

  worker = await startWorker();
  const probe = await connectTestDevice(broker, "probe");
  testDevices.push(probe);
  await waitUntilIngesting(probe);

  const away = new Set([...neverConnected, ...silent]);
  const simulated = Object.values(FLEETS).flatMap((f) => f.ids.filter((id) => !away.has(id)).map((id) => ({ id, type: f.type, firmwareVersion: FROM })));
  // Over two gateway connections: the broker holds no per-device credentials for these.
  sim = await startSimulation({ ...SIM_BASE, url: broker.platformUrl, gateway: 2, platformUsername: broker.platformUsername, platformPassword: broker.platformPassword, devices: simulated });
  sims.push(sim);
  // Every simulated device has been seen (its sync processed): none counts as potentially offline.
  await until(
    "simulated devices seen",
    async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM device_shadows WHERE device_id = ANY($1::text[]) AND last_seen_at IS NOT NULL`, [simulated.map((d) => d.id)])).rows[0]!.n,
    (n) => n === simulated.length,
    30_000,
  );
}, 120_000);

afterAll(async () => {
  const stats = sim?.stats();
  if (pool) {
    const { rows } = await pool.query(
      `SELECT device_id, kind, code, seq, version, server_time, payload FROM shadow_events WHERE outcome = 'rejected' ORDER BY server_time`,
    );
    for (const r of rows) console.log(`[rollouts] rejected: ${JSON.stringify(r)}`);
  }
  await Promise.all(sims.map((s) => s.stop()));
  await Promise.all(testDevices.map((d) => d.end(true)));
  await Promise.all(workers.map((w) => w.stop()));
  await downloads?.close();
  await broker?.stop();
  await disconnectDb();
  await db?.drop();
  fs.rmSync(firmwareDir, { recursive: true, force: true });
  for (const name of ["FIRMWARE_DIR", "FIRMWARE_LINK_SECRET", "DATABASE_URL"]) delete process.env[name];
  if (stats) console.log(`[rollouts] simulator: ${JSON.stringify({ ota: stats.ota, rejected: stats.rejected, syncs: stats.syncs, reboots: stats.reboots, resent: stats.resent })}`);
});

type Settings = Record<string, unknown>;
async function launch(name: keyof typeof FLEETS, strategy: Record<string, unknown>, settings: Settings, seed?: string) {
  const input = launchInputSchema.parse({ name: `rollout ${name}`, firmwareId: firmware.get(name)!.id, strategy, settings: { ratePerSec: 1000, ...settings }, seed });
  const launched = await launchRollout(input, TEST_ACTOR);
  expect(launched.state).toBe("running");
  return launched.id;
}
const state = (id: string) => rolloutRow(pool, id);

describe("rollout controller, end to end", () => {
  it.concurrent("times out devices that take the notification and never finish, and counts them as failures", { timeout: 120_000 }, async ({ expect }) => {
    // One device reports `downloading` and then nothing; the other never answers, but was seen (it said it is online).
    const [downloading, mute] = await Promise.all(STUCK.map((id) => connectTestDevice(broker, id)));
    testDevices.push(downloading!, mute!);
    await Promise.all([downloading!, mute!].map((d) => d.publish("status", { online: true })));
    await until("stuck devices seen", async () => (await pool.query(`SELECT count(*)::int AS n FROM device_shadows WHERE device_id = ANY($1) AND last_seen_at IS NOT NULL`, [STUCK])).rows[0].n, (n) => n === 2);

    const id = await launch("timeout", { kind: "equal", waves: 1 }, { timeoutMin: 1, maxRetries: 0 });
    const delta = await downloading!.expectMessage((m) => m.suffix === "shadow/delta", { timeoutMs: 30_000, what: "shadow/delta" });
    expect(delta.body.state.firmware).toMatchObject({ version: TARGET, url: expect.stringContaining(downloads.url), sha256: expect.any(String) });
    await mute!.expectMessage((m) => m.suffix === "shadow/delta", { timeoutMs: 30_000, what: "shadow/delta" });
    const update = { seq: 1, version: delta.body.version + 1, deviceTime: Date.now() / 1000, clientToken: "dl", state: { reported: { firmware: { status: "downloading" } } } };
    await downloading!.publish("shadow/update", update);
    await downloading!.expectMessage((m) => m.suffix === "shadow/update/accepted" && m.body.clientToken === "dl", { what: "accepted" });

    // The simulated devices succeed; the wave then waits for the two.
    const stuckStates = (rows: ExecutionRow[]) => Object.fromEntries(rows.filter((e) => STUCK.includes(e.deviceId)).map((e) => [e.deviceId, e.state]));
    const mid = await until("4 succeeded, 1 downloading", () => executionRows(pool, id), (rows) => byState(rows).succeeded === 4 && stuckStates(rows)["rt-stuck-1"] === "in_progress", 30_000);
    expect(stuckStates(mid)).toEqual({ "rt-stuck-1": "in_progress", "rt-stuck-2": "notified" });
    expect(await state(id)).toMatchObject({ state: "running" });

    // 2 of 6 failed: even the interval's lower bound (9.7%) is above 5%, so the guard pauses.
    const paused = await until("paused", () => state(id), (r) => r.state !== "running", 90_000, 250);
    expect(paused).toEqual({ state: "paused", currentWave: 0, pausedReason: "Wave 1: failures 2 of 6: even the 95% CI's lower bound 9.7% exceeds 5.0%" });
    const rows = await executionRows(pool, id);
    expect(byState(rows)).toEqual({ succeeded: 4, timed_out: 2 });
    for (const e of rows.filter((r) => STUCK.includes(r.deviceId))) {
      expect(e).toMatchObject({ state: "timed_out", errorCode: "timeout", attempts: 1 });
      const after = (e.finishedAt!.getTime() - e.notifiedAt!.getTime()) / 1000;
      // finished_at is the pass's transaction time, taken just before the pass reads the clock it compares.
      expect(after, `${e.deviceId} timed out after ${after} s`).toBeGreaterThanOrEqual(59.5);
      expect(after).toBeLessThan(70);
    }
    expect(rows.find((r) => r.deviceId === "rt-stuck-1")!.lastStatus).toBe("downloading");
    const pause = (await auditOf(pool, id)).filter((a) => a.action === "rollout.auto_pause");
    expect(pause).toHaveLength(1);
    expect(pause[0]!.data).toEqual({ wave: 0, counts: { size: 6, pending: 0, inProgress: 0, succeeded: 4, failed: 0, timedOut: 2, offline: 0 } });
  });

  it.concurrent("counts a device that reports completed on another version as failed, and records a finding on it", { timeout: 60_000 }, async ({ expect }) => {
    const liar = await connectTestDevice(broker, LIAR);
    testDevices.push(liar);
    await liar.publish("status", { online: true });
    await until("liar seen", async () => (await pool.query(`SELECT last_seen_at FROM device_shadows WHERE device_id = $1`, [LIAR])).rows[0].last_seen_at, (t) => t !== null);
    const id = await launch("mismatch", { kind: "equal", waves: 1 }, { maxRetries: 0 });
    const delta = await liar.expectMessage((m) => m.suffix === "shadow/delta", { timeoutMs: 30_000, what: "shadow/delta" });
    const report = { seq: 1, version: delta.body.version + 1, deviceTime: Date.now() / 1000, clientToken: "lie", state: { reported: { firmware: { version: "1.0.1", status: "completed" } } } };
    await liar.publish("shadow/update", report);
    await liar.expectMessage((m) => m.suffix === "shadow/update/accepted" && m.body.clientToken === "lie", { what: "accepted" });

    const [row] = await until("failed", () => executionRows(pool, id), (rows) => rows[0]?.state === "failed", 20_000);
    expect(row).toMatchObject({ deviceId: LIAR, state: "failed", errorCode: "version_mismatch:1.0.1", attempts: 1 });
    const { rows: findings } = await pool.query(`SELECT kind, severity, title, detail, resolved_at FROM device_findings WHERE device_id = $1`, [LIAR]);
    expect(findings).toEqual([
      {
        kind: "firmware_version_mismatch",
        severity: "critical",
        title: `Reported firmware 1.0.1 after installing ${TARGET}`,
        detail: { rolloutId: id, rollout: "rollout mismatch", target: TARGET, reported: "1.0.1" },
        resolved_at: null,
      },
    ]);
  });

  it.concurrent("starts no device outside the maintenance window", { timeout: 30_000 }, async ({ expect }) => {
    // A one-minute window twelve hours from now: closed for the whole test.
    const hour = (new Date().getUTCHours() + 12) % 24;
    const id = await launch("window", { kind: "equal", waves: 2 }, { window: { cron: `0 ${hour} * * *`, durationMin: 1, timeZone: "UTC" } });
    // The controller has passed over it (the gate text is written by a pass)…
    await until("a pass", () => waveRows(pool, id), (w) => w[0]?.gateText != null, 10_000, 100);
    // …and a few more, yet nobody was notified.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rows = await executionRows(pool, id);
    expect(byState(rows)).toEqual({ pending: 6 });
    expect((await deltasOf(pool, FLEETS.window.ids)).size).toBe(0);
  });

  it.concurrent("aborts with revert: devices notified but not started get the update withdrawn, nothing else starts", { timeout: 30_000 }, async ({ expect }) => {
    const idle = await connectTestDevice(broker, IDLE);
    testDevices.push(idle);
    await idle.publish("status", { online: true });
    const id = await launch("abort", { kind: "equal", waves: 1 }, {});
    const delta = await idle.expectMessage((m) => m.suffix === "shadow/delta" && m.body.state?.firmware?.version === TARGET, { timeoutMs: 20_000, what: "shadow/delta" });
    expect(delta.body.state.firmware.version).toBe(TARGET);
    await abortRollout(id, TEST_ACTOR, { revert: true, reason: "wrong build" });

    // The withdrawal is a desired change like any other: a version bump and a delta saying firmware is gone.
    const withdrawn = await idle.expectMessage((m) => m.suffix === "shadow/delta" && m.body.version > delta.body.version, { timeoutMs: 20_000, what: "withdrawal delta" });
    expect(withdrawn.body.state.firmware ?? null).toBeNull();
    const { rows } = await pool.query(`SELECT desired FROM device_shadows WHERE device_id = $1`, [IDLE]);
    expect(rows[0].desired.firmware).toBeUndefined();
    expect(await executionRows(pool, id)).toMatchObject([{ deviceId: IDLE, state: "cancelled", attempts: 1 }]);
    expect(await state(id)).toMatchObject({ state: "aborted" });
    const audit = await auditOf(pool, id);
    expect(audit.at(-1)).toMatchObject({ action: "rollout.abort", reason: "wrong build", data: { cancelled: 1, reverted: 1 } });
  });

  it.concurrent("completes a 300-device rollout in 3 waves: every device on the target, gates and completion audited", { timeout: 90_000 }, async ({ expect }) => {
    const { ids } = FLEETS.complete;
    const id = await launch("complete", { kind: "equal", waves: 3 }, {});
    const done = await until("completed", () => state(id), (r) => r.state !== "running", 60_000, 200);
    expect(done).toMatchObject({ state: "completed", currentWave: 2, pausedReason: null });

    const rows = await executionRows(pool, id);
    expect(rows).toHaveLength(300);
    expect(byState(rows)).toEqual({ succeeded: 300 });
    expect(rows.filter((e) => e.attempts !== 1)).toEqual([]);
    const { rows: shadows } = await pool.query(
      `SELECT s.device_id, s.reported->'firmware'->>'version' AS reported, s.reported->'firmware'->>'status' AS status, d.firmware_version
         FROM device_shadows s JOIN devices d ON d.id = s.device_id WHERE s.device_id = ANY($1::text[])`,
      [ids],
    );
    expect(shadows.filter((s) => s.reported !== TARGET || s.status !== "completed" || s.firmware_version !== TARGET)).toEqual([]);
    expect(shadows).toHaveLength(300);

    // Each wave started only after the one before passed its gate.
    const waves = await waveRows(pool, id);
    expect(waves.map((w) => w.state)).toEqual(["completed", "completed", "completed"]);
    for (const w of [1, 2]) {
      const gate = waves[w - 1]!.gatePassedAt!.getTime();
      const first = Math.min(...rows.filter((e) => e.wave === w).map((e) => e.notifiedAt!.getTime()));
      expect(first, `wave ${w + 1} notified before wave ${w}'s gate`).toBeGreaterThanOrEqual(gate - 5);
    }
    expect(rows.filter((e) => e.wave === 0)).toHaveLength(100);

    const audit = await auditOf(pool, id);
    expect(audit.map((a) => a.action)).toEqual(["rollout.launch", "rollout.gate_passed", "rollout.gate_passed", "rollout.completed"]);
    expect(audit.slice(1, 3).map((a) => [a.data.from, a.data.to])).toEqual([[0, 1], [1, 2]]);
    for (const a of audit.slice(1, 3)) expect(a.data.counts.succeeded / a.data.counts.size).toBeGreaterThanOrEqual(0.9);
    expect(audit.slice(1).every((a) => a.actorLabel === "rollout controller")).toBe(true);

    // One desired change per device, announced; one download each, through a link that worked.
    const deltas = await deltasOf(pool, ids);
    expect(ids.filter((d) => JSON.stringify(deltas.get(d)) !== JSON.stringify({ deviceId: d, versions: [TARGET], published: 1 }))).toEqual([]);
    expect(ids.filter((d) => JSON.stringify(downloads.answers.get(d)) !== "[200]")).toEqual([]);
  });

  it.concurrent("auto-pauses a bad firmware in the first wave, with the reason, and notifies no device of the next wave", { timeout: 60_000 }, async ({ expect }) => {
    const { ids } = FLEETS.bad;
    const id = await launch("bad", { kind: "equal", waves: 3 }, { maxRetries: 1, retryBaseSec: 1 });
    const paused = await until("paused", () => state(id), (r) => r.state !== "running", 45_000, 200);
    expect(paused.state).toBe("paused");
    expect(paused.currentWave).toBe(0);
    expect(paused.pausedReason).toMatch(/^Wave 1: (failure rate [\d.]+% \(\d+ of \d+\) exceeds 5\.0%; 95% CI|failures \d+ of \d+: even the 95% CI's lower bound [\d.]+% exceeds 5\.0%)/);

    const audit = await auditOf(pool, id);
    expect(audit.map((a) => a.action)).toEqual(["rollout.launch", "rollout.auto_pause"]);
    const pause = audit[1]!;
    expect(pause.reason).toBe(paused.pausedReason);
    expect(pause.actorLabel).toBe("rollout controller");
    expect(pause.data).toMatchObject({ wave: 0, counts: { size: 20, succeeded: 0 } });
    expect(pause.data.counts.failed).toBeGreaterThanOrEqual(3);

    const rows = await executionRows(pool, id);
    // The guard counts a failed attempt at once, also while the device waits for its retry
    // (maxRetries 1): a firmware that fails must not hide behind its retries.
    const failing = rows.filter((e) => e.state === "failed" || e.state === "retry_wait");
    expect(failing.length).toBe(pause.data.counts.failed);
    for (const e of failing) {
      expect(e).toMatchObject({ wave: 0, attempts: e.state === "failed" ? 2 : 1, errorCode: expect.stringMatching(/^E_(DOWNLOAD|CHECKSUM|INSTALL)$/) });
    }
    const later = rows.filter((e) => e.wave > 0);
    expect(later).toHaveLength(40);
    expect(later.filter((e) => e.state !== "pending" || e.attempts !== 0 || e.notifiedAt !== null)).toEqual([]);
    const deltas = await deltasOf(pool, later.map((e) => e.deviceId));
    expect(deltas.size).toBe(0);
    expect((await waveRows(pool, id)).map((w) => w.state)).toEqual(["running", "pending", "pending"]);
    expect(ids.every((d) => (downloads.answers.get(d) ?? []).every((s) => s === 200))).toBe(true);

    // Resumed by a person: the failures the guard paused on were seen and accepted, so it judges
    // only devices finishing from now on — it may pause again, but only on new failures.
    await resumeRollout(id, { type: "system", label: "test operator" }, "checked the failures");
    const resumed = (await auditOf(pool, id)).at(-1)!;
    expect(resumed).toMatchObject({ action: "rollout.resume", reason: "checked the failures", data: { guardReset: true } });
    const repaused = (a: Awaited<ReturnType<typeof auditOf>>) => a.some((e, i) => i > 2 && e.action === "rollout.auto_pause");
    // Several passes (200 ms apart): with the old failures still judged, the first one would pause again.
    const after = await until("a second pause", () => auditOf(pool, id), repaused, 2_000, 200).catch(() => auditOf(pool, id));
    const repause = after.find((e, i) => i > 2 && e.action === "rollout.auto_pause");
    if (repause) {
      const { rows: since } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rollout_executions e JOIN rollouts r ON r.id = e.rollout_id
          WHERE e.rollout_id = $1 AND ((e.state IN ('failed', 'timed_out') AND e.finished_at >= r.guard_since)
                                     OR (e.state = 'retry_wait' AND e.updated_at >= r.guard_since))`,
        [id],
      );
      expect(repause.data.counts.failed + repause.data.counts.timedOut).toBeLessThanOrEqual(since[0]!.n);
    } else {
      expect((await state(id)).state).toBe("running");
    }
  });

  it.concurrent("retries a failed device once (maxRetries 1) and records its final failure, however fast it fails", { timeout: 60_000 }, async ({ expect }) => {
    // A guard that never pauses: every device runs its attempts out.
    const id = await launch("retry", { kind: "equal", waves: 1 }, { maxRetries: 1, retryBaseSec: 1, maxFailureRate: 1 });
    const done = await until("completed", () => state(id), (r) => r.state !== "running", 30_000, 200);
    expect(done.state).toBe("completed");
    const rows = await executionRows(pool, id);
    expect(byState(rows)).toEqual({ failed: 20 });
    for (const e of rows) expect(e).toMatchObject({ attempts: 2, errorCode: expect.stringMatching(/^E_(DOWNLOAD|CHECKSUM|INSTALL)$/), lastStatus: "failed" });
    const deltas = await deltasOf(pool, FLEETS.retry.ids);
    expect(FLEETS.retry.ids.filter((d) => deltas.get(d)?.versions.length !== 2)).toEqual([]);
  });

  it.concurrent("does not let offline devices stall a wave: the gate leaves them out, shows them, the next wave starts; they finish when back", { timeout: 60_000 }, async ({ expect }) => {
    const id = await launch("offline", { kind: "equal", waves: 2 }, {}, OFFLINE_SEED);
    const away = [...neverConnected, ...silent];
    await until("wave 2 started", () => state(id), (r) => r.currentWave === 1, 30_000, 200);
    const succeeded = (rs: ExecutionRow[], wave: number) => rs.filter((e) => e.wave === wave && e.state === "succeeded").length;
    const rows = await until("reachable devices succeeded", () => executionRows(pool, id), (rs) => succeeded(rs, 0) === 16 && succeeded(rs, 1) === 20, 30_000);

    const first = rows.filter((e) => e.wave === 0);
    expect(first.filter((e) => away.includes(e.deviceId)).map((e) => e.deviceId).sort()).toEqual([...away].sort());
    expect(byState(first)).toEqual({ succeeded: 16, notified: 4 });
    const gate = (await auditOf(pool, id)).filter((a) => a.action === "rollout.gate_passed");
    expect(gate).toHaveLength(1);
    expect(gate[0]!.data.counts).toMatchObject({ size: 20, offline: 4 });
    expect(gate[0]!.data.counts.succeeded).toBeGreaterThanOrEqual(15); // 90% of the 16 reachable
    const waves = await waveRows(pool, id);
    expect(waves[0]!.state).toBe("passed");
    expect(waves[0]!.gateText).toMatch(/^Wave 2 starts when wave 1 reaches 90% — now [\d.]+%, 0 failures, 95% CI [\d.]+%–[\d.]+%, 4 potentially offline excluded$/);

    // The last wave is done, but the rollout does not claim completion for devices it never reached: it says so.
    const text = "Last wave: 4 devices still updating, 4 potentially offline";
    await until("last-wave text", () => waveRows(pool, id), (ws) => ws[1]!.gateText === text, 10_000);
    expect(await state(id)).toMatchObject({ state: "running" });
    const detail = await getRollout(id);
    expect(detail.gateText).toBe(text);
    expect(detail.waves.map((w) => ({ offline: w.offline, succeeded: w.succeeded }))).toEqual([{ offline: 4, succeeded: 16 }, { offline: 0, succeeded: 20 }]);

    // They come back, each on its own connection: the sync brings them the desired firmware, and the rollout completes.
    const returning = await Promise.all(away.map((device) => startSimulation({ ...SIM_BASE, url: broker.deviceUrl, password: broker.devicePassword(device), devices: [{ id: device, type: FLEETS.offline.type, firmwareVersion: FROM }] })));
    sims.push(...returning);
    const done = await until("completed", () => state(id), (r) => r.state !== "running", 30_000, 200);
    expect(done.state).toBe("completed");
    expect(byState(await executionRows(pool, id))).toEqual({ succeeded: 40 });
    expect((await auditOf(pool, id)).map((a) => a.action)).toEqual(["rollout.launch", "rollout.gate_passed", "rollout.completed"]);
  });

  it("finishes a rollout whose worker is SIGKILLed mid-rollout twice, notifying no device twice", { timeout: 90_000 }, async () => {
    const { ids } = FLEETS.crash;
    // 25 devices a second: each wave of 50 takes 2 s to notify, so the kills land among notifications.
    const id = await launch("crash", { kind: "equal", waves: 3 }, { ratePerSec: 25 });
    const notified = async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rollout_executions WHERE rollout_id = $1 AND attempts > 0`, [id])).rows[0]!.n;
    const kills: number[] = [];
    // Kill 1 inside a pass: the outbox is locked, so the pass that notifies the next devices has
    // changed their desired state and waits to queue the deltas when the worker dies.
    await until("20 notified", notified, (n) => n >= 20, 30_000, 20);
    const lock = await pool.connect();
    try {
      await lock.query("BEGIN");
      await lock.query("LOCK TABLE mqtt_outbox IN EXCLUSIVE MODE");
      await until(
        "the controller's pass waiting on the outbox",
        async () =>
          (await lock.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE NOT l.granted AND l.relation = 'mqtt_outbox'::regclass AND a.application_name = 'fleetwave-rollout-controller'`,
          )).rows[0]!.n,
        (n) => n > 0,
        10_000,
        20,
      );
      expect((await worker.kill("SIGKILL")).signal).toBe("SIGKILL");
    } finally {
      await lock.query("ROLLBACK");
      lock.release();
    }
    kills.push(await notified());
    worker = await startWorker();
    // Kill 2 wherever the worker happens to be, with the second wave under way.
    await until("75 notified", notified, (n) => n >= 75, 30_000, 20);
    expect((await worker.kill("SIGKILL")).signal).toBe("SIGKILL");
    kills.push(await notified());
    expect((await state(id)).state).toBe("running");
    worker = await startWorker();
    expect(kills[1]).toBeLessThan(150);

    const done = await until("completed", () => state(id), (r) => r.state !== "running", 60_000, 200);
    expect(done.state).toBe("completed");
    const rows = await executionRows(pool, id);
    expect(byState(rows)).toEqual({ succeeded: 150 });
    expect(rows.filter((e) => e.attempts !== 1)).toEqual([]);
    const deltas = await deltasOf(pool, ids);
    expect(ids.filter((d) => JSON.stringify(deltas.get(d)) !== JSON.stringify({ deviceId: d, versions: [TARGET], published: 1 }))).toEqual([]);
    // The shadow's own history agrees: one desired change per device.
    const { rows: history } = await pool.query<{ device_id: string; n: number }>(
      `SELECT device_id, (SELECT count(*) FROM jsonb_array_elements(changes::jsonb) c WHERE c ? 'desired')::int AS n FROM device_shadows WHERE device_id = ANY($1::text[])`,
      [ids],
    );
    expect(history.filter((h) => h.n !== 1)).toEqual([]);
    const audit = await auditOf(pool, id);
    expect(audit.map((a) => a.action)).toEqual(["rollout.launch", "rollout.gate_passed", "rollout.gate_passed", "rollout.completed"]);
    console.log(`[rollouts] worker killed at ${kills.join(" and ")} of 150 notified`);
  });
});
