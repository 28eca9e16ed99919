// Entry of `npm start` / `start:web` / `start:worker` / `dev`. Starts the
// embedded database and broker when DATABASE_URL / MQTT_URL are unset,
// migrates, seeds a fresh embedded database with the demo, then runs the web
// server and/or the worker. SIGTERM/SIGINT stop everything in order.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { config } from "@/server/config.ts";
import { disconnectDb, prisma } from "@/server/db/client.ts";
import { migrate } from "@/server/db/migrate.ts";
import { ensureProductionBuild } from "./build.ts";

const args = new Set(process.argv.slice(2));
const dev = args.has("--dev");
const runWeb = args.has("--web") || !args.has("--worker");
const runWorker = args.has("--worker") || !args.has("--web");
const root = process.cwd();
const stops: Array<{ name: string; stop: () => Promise<void> }> = [];

/** A secret kept in the data folder, so sessions and the embedded broker's password survive restarts. */
function persistentSecret(file: string): string {
  const full = path.join(config.dataDir, file);
  if (existsSync(full)) return readFileSync(full, "utf8").trim();
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(full, secret, { mode: 0o600 });
  return secret;
}

async function startEmbeddedServices(): Promise<{ embeddedDb: boolean }> {
  const embeddedDb = !config.databaseUrl;
  if (embeddedDb) {
    const { startEmbeddedPostgres } = await import("@/server/db/embedded-postgres.ts");
    const pgHandle = await startEmbeddedPostgres({ dataDir: config.dataDir });
    process.env.DATABASE_URL = pgHandle.url;
    stops.push({ name: "embedded PostgreSQL", stop: pgHandle.stop });
  }
  if (!config.mqttUrl) {
    process.env.MQTT_PASSWORD ??= persistentSecret("mqtt-platform-password");
    const { startEmbeddedBroker } = await import("@/server/mqtt/embedded-broker.ts");
    const broker = await startEmbeddedBroker({
      port: Number(process.env.MQTT_EMBEDDED_PORT ?? 0) || undefined,
      platformUsername: config.mqttUsername,
      platformPassword: config.mqttPassword!,
    });
    process.env.MQTT_URL = broker.url;
    // aedes speaks MQTT 3.1.1 only.
    process.env.MQTT_PROTOCOL_VERSION = "4";
    stops.push({ name: "embedded MQTT broker", stop: broker.stop });
    console.log(`[main] embedded MQTT broker on ${broker.url}`);
  }
  if (!config.authSecret) {
    process.env.NEXTAUTH_SECRET = persistentSecret("auth-secret");
  }
  process.env.NEXTAUTH_URL ??= `http://localhost:${config.port}`;
  return { embeddedDb };
}

async function seedIfFresh(embeddedDb: boolean) {
  if (!embeddedDb || process.env.FLEETWAVE_DEMO === "0") return;
  const { seedDemo, seedDemoFirmware, printCredentials } = await import("@/prisma/seed.ts");
  if ((await prisma.user.count()) > 0) {
    // A demo database from before the firmware registry existed gets its images too.
    if ((await prisma.firmware.count()) === 0) await seedDemoFirmware();
    return;
  }
  const { users, fleet, firmware } = await seedDemo();
  console.log(`[main] seeded the demo: ${fleet.created} devices, ${users.length} users, ${firmware} firmware images`);
  printCredentials(users);
}

/**
 * The demo: the seeded fleet comes alive through the simulator, each device
 * on its own connection, with a few devices' clocks, NTP and time zones off so
 * the device pages have findings to show.
 */
async function startDemoFleet() {
  const { startSimulation } = await import("@/server/sim/fleet.ts");
  const { devicesFromDb } = await import("@/server/sim/sources.ts");
  const { DEMO_FAIL_RATES } = await import("@/prisma/seed.ts");
  const devices = await devicesFromDb(process.env.DATABASE_URL!, null);
  const sim = await startSimulation({
    devices,
    rate: Number(process.env.FLEETWAVE_DEMO_RATE ?? 20),
    statePath: path.join(config.dataDir, "sim-state.json"),
    faults: { clockSkewSec: 420, skewedFraction: 0.02, staleNtp: true, badTimezone: true, offline: 0.0005, offlineForSec: 120 },
    // A rollout of the release candidate trips the auto-pause; the other releases go through.
    ota: { failRates: DEMO_FAIL_RATES },
    log: () => undefined,
  });
  stops.push({ name: "demo fleet", stop: sim.stop });
  console.log(`[main] demo fleet: ${devices.length} simulated devices connecting (FLEETWAVE_DEMO=0 turns it off)`);
}

let stopping = false;
async function shutdown(signal: string, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  console.log(`[main] ${signal}: shutting down`);
  for (const { name, stop } of stops.reverse()) {
    // Close our own connections before the embedded server goes away under them.
    if (name === "embedded PostgreSQL") await disconnectDb().catch(() => undefined);
    await stop().catch((err: Error) => console.error(`[main] stopping ${name} failed:`, err.message));
  }
  await disconnectDb().catch(() => undefined);
  process.exit(exitCode);
}

async function main() {
  if (runWeb && !dev) await ensureProductionBuild(root);
  const { embeddedDb } = await startEmbeddedServices();
  // Stops run in reverse: the web and worker stop before the database and broker they use.
  const applied = await migrate();
  if (applied.applied.length > 0) console.log(`[main] applied migrations: ${applied.applied.join(", ")}`);
  await seedIfFresh(embeddedDb);

  if (runWorker) {
    const { startWorker } = await import("@/server/worker/index.ts");
    const worker = await startWorker();
    stops.push({ name: "worker", stop: worker.stop });
  }
  if (runWorker && embeddedDb && process.env.FLEETWAVE_DEMO !== "0") await startDemoFleet();
  if (runWeb) {
    const { startWeb } = await import("./web.ts");
    const web = await startWeb({ dev, dir: root });
    stops.push({ name: "web", stop: web.stop });
    console.log(`[main] Fleetwave is up: ${web.url}`);
  }
}

process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
main().catch(async (err: Error) => {
  console.error("[main] failed to start:", err);
  await shutdown("startup failure", 1);
});
