// `npm run sim -- --devices N --rate R [options]`: simulated devices that
// speak shared/PROTOCOL.md to the broker. --help lists the flags.
import path from "node:path";
import { parseArgs } from "node:util";
import { config } from "@/server/config.ts";
import { NO_FAULTS, type FaultOptions } from "./faults.ts";
import { startSimulation, type DeviceSeed, type SimOptions } from "./fleet.ts";
import { devicesFromDb, generatedDevices } from "./sources.ts";
import { formatSummary } from "./stats.ts";

const USAGE = `Usage: npm run sim -- --devices N --rate R [options]

Devices (one source; default --ids-from-db when DATABASE_URL is set)
  --ids-from-db            registered, non-revoked devices from DATABASE_URL (first N by id)
  --prefix P               generated ids P-00001 … (tests; unregistered ids are rejected by the platform)
  --ids a,b,c              these ids
  --devices N              how many devices (with --ids: at most that many)
  --type T                 device type for --prefix/--ids (default sim)
  --firmware VER           firmware version for --prefix/--ids (default 1.0.0)
  --region R               region for --prefix/--ids, picks the reported time zone (default: UTC)

Traffic
  --rate R                 shadow updates per second over the whole fleet (default 1; 0: none)
  --duration SEC           stop after SEC seconds (default: until Ctrl-C)
  --url URL                broker (default MQTT_URL, else mqtt://127.0.0.1:1883)
  --password PW            device MQTT password (default SIM_DEVICE_PASSWORD)
  --gateway K              carry all devices over K connections with MQTT_USERNAME/MQTT_PASSWORD
  --connect-rate N         new connections per second at start-up (default 250)
  --response-timeout SEC   re-send, then resync, when unanswered this long (default 10)
  --state FILE             seq/version per device across runs (default $FLEETWAVE_DATA_DIR/sim-state.json)
  --no-state               keep them in memory only

Faults (p = probability per update)
  --duplicates p           re-send an update unchanged (a QoS 1 retry)
  --reorder p              send two consecutive updates swapped
  --seq-jump p             skip more than 100 sequence numbers
  --clock-skew SEC         clock offset (±SEC) for --skewed-fraction of the devices
  --skewed-fraction F      fraction of devices for --clock-skew, --stale-ntp, --bad-timezone (default 0.1)
  --stale-ntp              ntpSyncedAt two days old for that fraction
  --bad-timezone           an invalid IANA zone for that fraction
  --offline p              drop the connection abruptly (the will fires), come back later with a sync
  --offline-for SEC        mean length of an offline spell (default 30)
  --mass-reconnect-at SEC  every device drops and reconnects together at SEC

Firmware updates (on a shadow/delta with a new firmware)
  --ota-speed X            run download/verify/install/reboot X times faster (default 1)
  --fail-rate VERSION=P    updates to VERSION fail with probability P (repeatable; VERSION may be *)
  --ota-concurrency N      downloads at once (default 20)`;

class UsageError extends Error {}

const OPTIONS = {
  devices: { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  url: { type: "string" },
  password: { type: "string" },
  gateway: { type: "string" },
  "ids-from-db": { type: "boolean" },
  prefix: { type: "string" },
  ids: { type: "string" },
  type: { type: "string" },
  firmware: { type: "string" },
  region: { type: "string" },
  state: { type: "string" },
  "no-state": { type: "boolean" },
  "connect-rate": { type: "string" },
  "response-timeout": { type: "string" },
  duplicates: { type: "string" },
  reorder: { type: "string" },
  "seq-jump": { type: "string" },
  "clock-skew": { type: "string" },
  "skewed-fraction": { type: "string" },
  "stale-ntp": { type: "boolean" },
  "bad-timezone": { type: "boolean" },
  offline: { type: "string" },
  "offline-for": { type: "string" },
  "mass-reconnect-at": { type: "string" },
  "ota-speed": { type: "string" },
  "fail-rate": { type: "string", multiple: true },
  "ota-concurrency": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Bounds = { min?: number; max?: number; integer?: boolean; above?: number };
function numberFlag(name: string, raw: string | undefined, fallback: number, bounds: Bounds = {}): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const ok =
    raw.trim() !== "" &&
    Number.isFinite(value) &&
    (!bounds.integer || Number.isInteger(value)) &&
    (bounds.min === undefined || value >= bounds.min) &&
    (bounds.above === undefined || value > bounds.above) &&
    (bounds.max === undefined || value <= bounds.max);
  if (ok) return value;
  const range =
    bounds.min !== undefined && bounds.max !== undefined
      ? `between ${bounds.min} and ${bounds.max}`
      : bounds.min !== undefined
        ? `≥ ${bounds.min}`
        : bounds.above !== undefined
          ? `> ${bounds.above}`
          : "";
  const want = [bounds.integer ? "an integer" : "a number", range].filter(Boolean);
  throw new UsageError(`--${name} must be ${want.join(" ")}, got "${raw}"`);
}
const probability = (name: string, raw: string | undefined) => numberFlag(name, raw, 0, { min: 0, max: 1 });

function failRates(entries: string[] | undefined): Map<string, number> {
  const rates = new Map<string, number>();
  for (const entry of entries ?? []) {
    const eq = entry.lastIndexOf("=");
    if (eq <= 0) throw new UsageError(`--fail-rate takes VERSION=P (e.g. 4.2.1=0.2), got "${entry}"`);
    rates.set(entry.slice(0, eq), numberFlag("fail-rate", entry.slice(eq + 1), 0, { min: 0, max: 1 }));
  }
  return rates;
}

async function chooseDevices(v: ReturnType<typeof parse>["values"]): Promise<DeviceSeed[]> {
  const count = v.devices === undefined ? null : numberFlag("devices", v.devices, 0, { min: 1, integer: true });
  const sources = [v["ids-from-db"], v.prefix !== undefined, v.ids !== undefined].filter(Boolean).length;
  if (sources > 1) throw new UsageError("choose one of --ids-from-db, --prefix, --ids");
  const seed = { type: v.type ?? "sim", firmwareVersion: v.firmware ?? "1.0.0", region: v.region };
  if (v.ids !== undefined) {
    const ids = v.ids.split(",").map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) throw new UsageError("--ids needs at least one id");
    return ids.slice(0, count ?? ids.length).map((id) => ({ ...seed, id }));
  }
  if (v.prefix !== undefined) {
    if (count === null) throw new UsageError("--prefix needs --devices N");
    if (!/^[A-Za-z0-9_.-]{1,50}$/.test(v.prefix)) throw new UsageError(`--prefix must be letters, digits, "_", "." or "-", got "${v.prefix}"`);
    return generatedDevices(v.prefix, count, seed);
  }
  if (!config.databaseUrl) throw new UsageError("no devices: pass --prefix P or --ids a,b,c, or set DATABASE_URL for --ids-from-db");
  const devices = await devicesFromDb(config.databaseUrl, count);
  if (devices.length === 0) throw new UsageError("the registry has no (non-revoked) devices: import some with `npm run fleet -- devices import FILE.csv`");
  if (count !== null && devices.length < count) console.warn(`[sim] the registry has ${devices.length} devices; simulating those`);
  return devices;
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function buildOptions(v: ReturnType<typeof parse>["values"]): Promise<{ options: SimOptions; durationSec: number | null }> {
  const faults: FaultOptions = {
    duplicates: probability("duplicates", v.duplicates),
    reorder: probability("reorder", v.reorder),
    seqJump: probability("seq-jump", v["seq-jump"]),
    clockSkewSec: numberFlag("clock-skew", v["clock-skew"], 0),
    skewedFraction: numberFlag("skewed-fraction", v["skewed-fraction"], NO_FAULTS.skewedFraction, { min: 0, max: 1 }),
    staleNtp: v["stale-ntp"] ?? false,
    badTimezone: v["bad-timezone"] ?? false,
    offline: probability("offline", v.offline),
    offlineForSec: numberFlag("offline-for", v["offline-for"], NO_FAULTS.offlineForSec, { above: 0 }),
    massReconnectAtSec: v["mass-reconnect-at"] === undefined ? null : numberFlag("mass-reconnect-at", v["mass-reconnect-at"], 0, { min: 0 }),
  };
  if (v.state !== undefined && v["no-state"]) throw new UsageError("--state and --no-state exclude each other");
  const options: SimOptions = {
    url: v.url,
    devices: [],
    rate: numberFlag("rate", v.rate, 1, { min: 0 }),
    password: v.password ?? process.env.SIM_DEVICE_PASSWORD,
    gateway: numberFlag("gateway", v.gateway, 0, { min: 0, integer: true }),
    statePath: v["no-state"] ? null : path.resolve(v.state ?? path.join(config.dataDir, "sim-state.json")),
    faults,
    ota: {
      speed: numberFlag("ota-speed", v["ota-speed"], 1, { above: 0 }),
      failRates: failRates(v["fail-rate"]),
      concurrency: numberFlag("ota-concurrency", v["ota-concurrency"], 20, { min: 1, integer: true }),
    },
    responseTimeoutMs: numberFlag("response-timeout", v["response-timeout"], 10, { above: 0 }) * 1000,
    connectRate: numberFlag("connect-rate", v["connect-rate"], 250, { above: 0 }),
  };
  const durationSec = v.duration === undefined ? null : numberFlag("duration", v.duration, 0, { above: 0 });
  options.devices = await chooseDevices(v);
  return { options, durationSec };
}

async function main(): Promise<void> {
  const { values } = parse(process.argv.slice(2));
  if (values.help) return console.log(USAGE);
  const { options, durationSec } = await buildOptions(values);
  const mode = options.gateway ? `${options.gateway} gateway connection(s)` : "one connection per device";
  console.log(`[sim] ${options.devices.length} devices, ${options.rate} updates/s, ${mode}, broker ${options.url ?? config.mqttUrl ?? "mqtt://127.0.0.1:1883"}`);
  const sim = await startSimulation(options);
  const startedAt = Date.now();
  let prev = sim.stats();
  let prevAt = startedAt;
  const summary = () => {
    const now = Date.now();
    const current = sim.stats();
    const rss = Math.round(process.memoryUsage().rss / 1048576);
    console.log(`${formatSummary(current, prev, (now - prevAt) / 1000, (now - startedAt) / 1000)} | rss ${rss} MB`);
    [prev, prevAt] = [current, now];
  };
  const ticker = setInterval(summary, 5000);
  let finishing = false;
  const finish = async (why: string) => {
    if (finishing) process.exit(1); // a second Ctrl-C: leave now
    finishing = true;
    clearInterval(ticker);
    console.log(`[sim] ${why}: stopping`);
    await sim.stop();
    summary();
    process.exit(0);
  };
  process.on("SIGINT", () => void finish("SIGINT"));
  process.on("SIGTERM", () => void finish("SIGTERM"));
  if (durationSec !== null) setTimeout(() => void finish(`${durationSec}s elapsed`), durationSec * 1000);
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`sim: ${err.message}\nRun \`npm run sim -- --help\` for the flags.`);
    process.exit(2);
  }
  console.error("sim:", err);
  process.exit(1);
});
