// The simulator against a private broker (the embedded aedes) and a fake
// platform that accepts every update: what the platform receives must be a
// well-behaved device stream per PROTOCOL.md.
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "@/server/mqtt/embedded-broker.ts";
import { deviceTopic } from "@/server/mqtt/topics.ts";
import { startSimulation, type SimOptions } from "./fleet.ts";
import { generatedDevices } from "./sources.ts";

const PLATFORM = { username: "fleetwave-platform", password: "platform-secret" };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-sim-"));
let broker: EmbeddedBroker;
let platform: MqttClient;
type Seen = { id: string; suffix: string; m: Record<string, any> };
const seen: Seen[] = [];
const versions = new Map<string, number>(); // the fake platform's shadow version per device

beforeAll(async () => {
  broker = await startEmbeddedBroker({ platformUsername: PLATFORM.username, platformPassword: PLATFORM.password, topicPrefix: "fleet" });
  platform = await connectAsync(broker.url, { clientId: "fake-platform", ...PLATFORM, reconnectPeriod: 0 });
  platform.on("message", (topic, payload) => {
    const [, id = "", ...rest] = topic.split("/");
    const suffix = rest.join("/");
    const m = JSON.parse(payload.toString());
    seen.push({ id, suffix, m });
    const answer = (to: "shadow/update/accepted" | "sync", body: object) => platform.publish(deviceTopic(id, to, "fleet"), JSON.stringify(body), { qos: 1 });
    // Accepts every update as the version it claims; a sync brings the device to the last one.
    if (suffix === "shadow/update") {
      versions.set(id, Math.max(versions.get(id) ?? 0, m.version));
      answer("shadow/update/accepted", { version: m.version, clientToken: m.clientToken, duplicate: false, state: { reported: m.state.reported } });
    }
    if (suffix === "sync/request") {
      const V = versions.get(id) ?? 0;
      const mode = V === m.currentVersion ? "none" : "delta";
      answer("sync", { type: "sync", mode, fromVersion: m.currentVersion, toVersion: V, state: mode === "none" ? {} : { desired: {}, reported: {} } });
    }
  });
  await platform.subscribeAsync(["fleet/+/shadow/update", "fleet/+/sync/request", "fleet/+/sync/complete", "fleet/+/status"], { qos: 1 });
});
afterAll(async () => {
  await platform?.endAsync();
  await broker?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
  }
}

async function simulate(seconds: number, options: Omit<SimOptions, "url" | "rate"> & { rate?: number }) {
  const sim = await startSimulation({ url: broker.url, rate: 100, responseTimeoutMs: 2000, log: () => {}, ...options });
  await sleep(seconds * 1000);
  const during = sim.stats();
  await sim.stop();
  await sleep(200); // the last offline statuses reach the platform
  return { during, after: sim.stats() };
}

function byDevice(prefix: string) {
  const out = new Map<string, Seen[]>();
  for (const s of seen) if (s.id.startsWith(`${prefix}-`)) out.set(s.id, [...(out.get(s.id) ?? []), s]);
  return out;
}

/** Every device's seq strictly increases and each update claims the version after the last accepted one. */
function expectWellBehaved(stream: Seen[], startVersion = 0) {
  let lastSeq = 0;
  let version = startVersion;
  for (const { suffix, m } of stream) {
    if (typeof m.seq === "number") {
      expect(m.seq, `${suffix} seq after ${lastSeq}`).toBeGreaterThan(lastSeq);
      lastSeq = m.seq;
    }
    if (suffix === "shadow/update") expect(m.version).toBe(++version);
  }
  return { lastSeq, version };
}

describe("device simulator", () => {
  it("runs 50 devices, one connection each: seq increases, versions advance", async () => {
    const { during, after } = await simulate(4, { devices: generatedDevices("sima", 50, { type: "sensor-th", region: "eu-west" }), statePath: null });
    expect(during.connected).toBe(50);
    expect(after.connected).toBe(0);
    const streams = byDevice("sima");
    expect(streams.size).toBe(50);
    let updates = 0;
    for (const [id, stream] of streams) {
      const { version } = expectWellBehaved(stream);
      expect(version, `${id} sent no update`).toBeGreaterThan(0);
      updates += version;
      expect(stream[0], id).toMatchObject({ suffix: "status", m: { online: true } });
      expect(stream.map((s) => s.suffix)).toEqual(expect.arrayContaining(["sync/request", "sync/complete"]));
      expect(stream.at(-1), id).toMatchObject({ suffix: "status", m: { online: false } });
    }
    // 100/s would give ~350; the bound is loose because CI machines are shared and busy.
    expect(updates).toBeGreaterThan(50);
    expect(during.accepted).toBeGreaterThan(50);
    expect(Object.keys(during.rejected)).toEqual([]);
    const sample = streams.get("sima-00001")!.find((s) => s.suffix === "shadow/update")!.m;
    expect(sample).toMatchObject({ clientToken: expect.any(String), timezone: "Europe/Dublin", ntpSyncedAt: expect.any(Number) });
    expect(sample.state.reported).toMatchObject({ temperature: expect.any(Number), rssi: expect.any(Number) });
  });

  it("keeps seq and version across a simulator restart (state file)", async () => {
    const statePath = path.join(dir, "restart.json");
    const devices = generatedDevices("simr", 30);
    await simulate(2, { devices, statePath });
    const before = new Map([...byDevice("simr")].map(([id, stream]) => [id, expectWellBehaved(stream)]));
    expect(before.size).toBe(30);
    seen.length = 0;
    await simulate(2, { devices, statePath });
    for (const [id, stream] of byDevice("simr")) {
      const prev = before.get(id)!;
      // The device knows the last version it saw accepted: its last update may have been in flight at the stop.
      const { currentVersion } = stream.find((s) => s.suffix === "sync/request")!.m;
      expect([prev.version - 1, prev.version]).toContain(currentVersion);
      expectWellBehaved([{ id, suffix: "start", m: { seq: prev.lastSeq } }, ...stream], prev.version);
    }
  });

  it("goes offline abruptly (the will fires) and comes back with a sync", async () => {
    seen.length = 0;
    const devices = generatedDevices("simo", 20);
    await simulate(5, { devices, rate: 40, faults: { offline: 0.3, offlineForSec: 1 }, statePath: null });
    let returned = 0;
    for (const stream of byDevice("simo").values()) {
      expectWellBehaved(stream);
      const statuses = stream.filter((s) => s.suffix === "status" || s.suffix === "sync/request").map((s) => (s.suffix === "status" ? String(s.m.online) : "sync"));
      const i = statuses.indexOf("false");
      if (i >= 0 && i < statuses.length - 1 && statuses.slice(i).join(",").startsWith("false,true,sync")) returned++;
    }
    expect(returned).toBeGreaterThan(0);
  });

  it("multiplexes devices over gateway connections with the platform's credentials", async () => {
    seen.length = 0;
    const devices = generatedDevices("simg", 50);
    const { during } = await simulate(3, { devices, gateway: 2, platformUsername: PLATFORM.username, platformPassword: PLATFORM.password, statePath: null });
    expect(during.connected).toBe(50);
    const streams = byDevice("simg");
    expect(streams.size).toBe(50);
    for (const stream of streams.values()) {
      expectWellBehaved(stream);
      expect(stream.at(-1)).toMatchObject({ suffix: "status", m: { online: false } });
    }
    expect(during.accepted).toBeGreaterThan(50);
  });

  it("updates firmware on a shadow/delta: download, verify, install, reboot (will fires), completed", async () => {
    const image = Buffer.alloc(200_000, 3);
    const files = http.createServer((_req, res) => res.end(image));
    await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/fw/2.0.0.bin`;
    const firmware = { version: "2.0.0", url, sha256: createHash("sha256").update(image).digest("hex"), size: image.length };
    seen.length = 0;
    const devices = generatedDevices("simf", 3, { firmwareVersion: "1.0.0" });
    const sim = await startSimulation({ url: broker.url, rate: 0, devices, ota: { speed: 50 }, statePath: null, responseTimeoutMs: 2000, log: () => {} });
    try {
      await until(() => sim.stats().connected === 3 && sim.stats().syncs === 3);
      for (const { id } of devices) {
        const version = (versions.get(id) ?? 0) + 1; // a desired change is a version of its own
        versions.set(id, version);
        platform.publish(deviceTopic(id, "shadow/delta", "fleet"), JSON.stringify({ version, timestamp: Date.now() / 1000, state: { firmware } }), { qos: 1 });
      }
      const completed = (id: string) => seen.some((s) => s.id === id && s.m.state?.reported?.firmware?.status === "completed");
      await until(() => devices.every(({ id }) => completed(id)), 20_000);
    } finally {
      await sim.stop();
      await new Promise<void>((resolve) => files.close(() => resolve()));
    }
    for (const [id, stream] of byDevice("simf")) {
      expectWellBehaved(stream, 1); // the delta was version 1
      const story = stream.map((s) =>
        s.suffix === "shadow/update" ? s.m.state.reported.firmware.status : s.suffix === "status" ? `online=${s.m.online}` : s.suffix,
      );
      expect(story.slice(0, story.indexOf("completed") + 1), id).toEqual([
        "online=true", "sync/request", "sync/complete",
        "downloading", "verifying", "installing",
        "online=false", // the reboot: no DISCONNECT, the broker publishes the will
        "online=true", "sync/request", "sync/complete",
        "completed",
      ]);
      const done = stream.find((s) => s.m.state?.reported?.firmware?.status === "completed")!.m.state.reported.firmware;
      expect(done).toEqual({ version: "2.0.0", status: "completed", checksum: `sha256:${firmware.sha256}`, previousVersion: "1.0.0", updateDuration: expect.any(Number), errorCode: null });
    }
  });
});
