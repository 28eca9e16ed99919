import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, transitionError } from "./test-harness.ts";

const image = Buffer.alloc(300_000, 7);
const sha256 = createHash("sha256").update(image).digest("hex");
let server: http.Server;
let base = "";
let target = { version: "2.0.0", url: "", sha256, size: image.length };

// A real HTTP server: the image, a corrupted image, and a refused (expired or tampered) link.
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/2.0.0.bin") return res.end(image);
    if (req.url === "/corrupt.bin") return res.end(Buffer.alloc(image.length, 8));
    res.statusCode = 403;
    res.end("forbidden");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target = { ...target, url: `${base}/2.0.0.bin` };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const macrotask = () => new Promise((resolve) => setTimeout(resolve, 1));
const finished = (reports: Array<Record<string, unknown>>) => ["completed", "failed"].includes(String(reports.at(-1)?.status));

/**
 * Plays the platform on a virtual clock (5 ms a step): accepts every update,
 * checking its transitions against what it holds, and reconnects the device
 * after a reboot. Stops when `done` says so (the download runs in real time)
 * or after `maxSteps`. Returns the firmware reports in order.
 */
async function run(h: ReturnType<typeof makeDevice>, from: number, done: (reports: Array<Record<string, unknown>>) => boolean, maxSteps = 5000) {
  const held = { power: h.memory.power as string, status: h.memory.status as string };
  const reports: Array<Record<string, unknown>> = [];
  let version = h.memory.version;
  let backAt: number | null = null;
  for (let i = 0, t = from; i < maxSteps && !done(reports); i++, t += 5) {
    if (backAt !== null && t >= backAt) {
      backAt = null;
      h.online(t);
    }
    h.device.tick(t);
    for (const u of h.updates()) {
      expect(transitionError(held, u.state.reported)).toBeNull();
      const fw = u.state.reported.firmware as Record<string, unknown> | undefined;
      if (fw) reports.push(fw);
      if (typeof fw?.status === "string") held.status = fw.status;
      if (typeof u.state.reported.power === "string") held.power = u.state.reported.power;
      h.receive("shadow/update/accepted", { version: ++version, clientToken: u.clientToken }, t);
    }
    h.take();
    const drop = h.drops.shift();
    if (drop) backAt = t + drop.downMs;
    await macrotask(); // lets the download progress
  }
  return reports;
}
const never = () => false;

describe("simulated device: firmware updates", () => {
  it("downloads, verifies, installs, reboots and reports completed", async () => {
    const h = makeDevice();
    h.online();
    h.receive("shadow/delta", { version: 6, state: { firmware: target } }, 0);
    const reports = await run(h, 0, finished);
    expect(reports.map((r) => r.status)).toEqual(["downloading", "verifying", "installing", "completed"]);
    expect(reports.at(-1)).toEqual({
      version: "2.0.0",
      status: "completed",
      checksum: `sha256:${sha256}`,
      previousVersion: "1.0.0",
      updateDuration: expect.any(Number),
      errorCode: null,
    });
    expect(h.stats.reboots).toBe(1);
    expect(h.memory).toMatchObject({ firmware: "2.0.0", status: "completed" });
  });

  it("reports failed with E_CHECKSUM when the image does not match its sha256", async () => {
    const h = makeDevice();
    h.online();
    h.receive("shadow/delta", { version: 6, state: { firmware: { ...target, url: `${base}/corrupt.bin` } } }, 0);
    const reports = await run(h, 0, finished);
    expect(reports.map((r) => r.status)).toEqual(["downloading", "verifying", "failed"]);
    expect(reports.at(-1)).toMatchObject({ errorCode: "E_CHECKSUM" });
    expect(h.memory.firmware).toBe("1.0.0");
  });

  it("reports failed with E_DOWNLOAD when the link is refused (expired or tampered: 403)", async () => {
    const h = makeDevice();
    h.online();
    h.receive("shadow/delta", { version: 6, state: { firmware: { ...target, url: `${base}/expired.bin` } } }, 0);
    const reports = await run(h, 0, finished);
    expect(reports.map((r) => [r.status, r.errorCode])).toEqual([
      ["downloading", null],
      ["failed", "E_DOWNLOAD"],
    ]);
  });

  it("--fail-rate VERSION=1 fails every update to that version, with an error code", async () => {
    const h = makeDevice({ failRates: [["2.0.0", 1]] }); // random 0.99: the failure strikes while installing
    h.online();
    h.receive("shadow/delta", { version: 6, state: { firmware: target } }, 0);
    const reports = await run(h, 0, finished);
    expect(reports.map((r) => r.status)).toEqual(["downloading", "verifying", "installing", "failed"]);
    expect(reports.at(-1)).toMatchObject({ errorCode: "E_INSTALL", updateDuration: expect.any(Number) });
    expect(h.memory.firmware).toBe("1.0.0");
  });

  it("does not retry a failed target on a sync, only when the platform publishes it again", async () => {
    const h = makeDevice();
    const refused = { ...target, url: `${base}/expired.bin` };
    h.online();
    h.receive("shadow/delta", { version: 6, state: { firmware: refused } }, 0);
    await run(h, 0, finished);
    const version = h.memory.version;
    h.device.disconnected();
    h.device.connected(100_000);
    h.receive("sync", { type: "sync", mode: "full", fromVersion: null, toVersion: version, state: { desired: { firmware: refused }, reported: {}, delta: { firmware: refused } } }, 100_000);
    expect(await run(h, 100_000, never, 100)).toEqual([]);
    h.receive("shadow/delta", { version: version + 1, state: { firmware: refused } }, 200_000);
    expect((await run(h, 200_000, finished)).map((r) => r.status)).toEqual(["downloading", "failed"]);
  });

  it("reports an update it did not start (the simulator restarted mid-install) as failed", async () => {
    const h = makeDevice({ memory: { status: "installing" } });
    h.online();
    const reports = await run(h, 0, never, 20);
    expect(reports).toEqual([{ status: "failed", errorCode: "E_INTERRUPTED" }]);
  });

  it("ignores a desired firmware it already runs", async () => {
    const h = makeDevice();
    h.online();
    h.receive("shadow/delta", { version: 6, state: { firmware: { ...target, version: "1.0.0" } } }, 0);
    expect(await run(h, 0, never, 100)).toEqual([]);
  });
});
