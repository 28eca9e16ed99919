// Simulated devices for tests that need a fleet that really updates: the
// project's simulator (server/sim), run in the test's own process against the
// broker the product uses (E2E_MQTT_URL, set by e2e/run.ts). The devices must
// be registered first (e2e/support/db.ts); they download firmware from the
// signed links the worker sends, verify the SHA-256, install, reboot, report.
import { expect } from "@playwright/test";
import { startSimulation, type DeviceSeed, type Simulation } from "../../server/sim/fleet.ts";

export type SimulatedFleet = Simulation & { log: string[] };

/** Every phase of an update runs this many times faster: about a second per update instead of half a minute. */
const OTA_SPEED = 50;

export async function simulateDevices(devices: DeviceSeed[]): Promise<SimulatedFleet> {
  const url = process.env.E2E_MQTT_URL;
  if (!url) throw new Error("E2E_MQTT_URL is not set: run the suite with `npm run test:e2e`");
  const log: string[] = [];
  const sim = await startSimulation({
    url,
    devices,
    // No telemetry: only what a firmware update sends.
    rate: 0,
    // The embedded broker accepts any device password; CI's Mosquitto allows anonymous clients on localhost.
    password: "e2e-device",
    ota: { speed: OTA_SPEED },
    responseTimeoutMs: 3000,
    log: (line) => log.push(line),
  });
  const fleet: SimulatedFleet = Object.assign(sim, { log });
  try {
    await expect
      .poll(() => sim.stats().connected, { message: `simulated devices did not connect to ${url}: ${sim.stats().lastError ?? "no error"}`, timeout: 15_000 })
      .toBe(devices.length);
  } catch (err) {
    await sim.stop();
    throw err;
  }
  return fleet;
}
