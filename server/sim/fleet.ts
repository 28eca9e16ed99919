// The simulation: devices, their links to the broker, and one scheduler loop
// that drives them all (no timer per device). Also the programmatic API that
// the CLI, the demo mode and tests use.
import { config } from "@/server/config.ts";
import type { ResponseTopic } from "@/server/mqtt/topics.ts";
import { fullJitterBackoff } from "@/server/mqtt/backoff.ts";
import { SimDevice, type DeviceContext, type DeviceMemory, type Effect } from "./device.ts";
import { deviceProfile, NO_FAULTS, type FaultOptions } from "./faults.ts";
import { directTransport, gatewayTransport, RECONNECT_BASE_MS, RECONNECT_CAP_MS, type LinkEvents, type Transport } from "./links.ts";
import { obj } from "./messages.ts";
import { OtaRunner, type OtaSettings } from "./ota.ts";
import { loadState, saveState } from "./state-file.ts";
import { copyStats, newStats, type SimStats } from "./stats.ts";

export type DeviceSeed = { id: string; type?: string; firmwareVersion?: string; region?: string };

export type SimOptions = {
  /** Broker URL; defaults to MQTT_URL. */
  url?: string;
  devices: DeviceSeed[];
  /** Aggregate telemetry updates per second across all devices (0: none, only syncs and firmware). */
  rate: number;
  /** Device MQTT password (SIM_DEVICE_PASSWORD); devices connect as their own id. */
  password?: string;
  /** Multiplex all devices over this many connections with the platform's credentials. */
  gateway?: number;
  platformUsername?: string;
  platformPassword?: string;
  topicPrefix?: string;
  /** JSON file holding each device's seq and version across runs; null keeps them in memory. */
  statePath?: string | null;
  faults?: Partial<FaultOptions>;
  ota?: Partial<OtaSettings>;
  /** Wait this long for an answer before re-sending, then resyncing. */
  responseTimeoutMs?: number;
  /** New connections per second while the fleet first comes up. */
  connectRate?: number;
  random?: () => number;
  log?: (line: string) => void;
};

export type Simulation = {
  /** Publishes every device's offline status, disconnects, saves the state file. */
  stop(): Promise<void>;
  stats(): SimStats;
};

type Slot = {
  device: SimDevice;
  /** idle: not opened yet; waiting: down, to be opened at wakeAt. */
  link: "idle" | "connecting" | "up" | "waiting";
  wakeAt: number;
  attempt: number;
};

const TICK_MS = 50;
const SAVE_EVERY_MS = 10_000;
const DEFAULT_FIRMWARE = "1.0.0";

export async function startSimulation(options: SimOptions): Promise<Simulation> {
  const url = options.url ?? config.mqttUrl ?? "mqtt://127.0.0.1:1883";
  const prefix = options.topicPrefix ?? config.topicPrefix;
  const random = options.random ?? Math.random;
  const log = options.log ?? ((line: string) => console.log(line));
  const faults: FaultOptions = { ...NO_FAULTS, ...options.faults };
  const statePath = options.statePath ?? null;
  const saved = statePath ? loadState(statePath) : new Map<string, DeviceMemory>();
  const stats = newStats(options.devices.length);
  const slots = new Map<string, Slot>();
  let stopping = false;

  const ctx: DeviceContext = {
    random,
    faults,
    updateIntervalMs: options.rate > 0 ? (options.devices.length / options.rate) * 1000 : Infinity,
    responseTimeoutMs: options.responseTimeoutMs ?? 10_000,
    ota: new OtaRunner({ speed: 1, failRates: new Map(), concurrency: 20, ...options.ota }),
    stats,
    emit: (device, effect) => handleEffect(device, effect),
  };
  for (const seed of options.devices) {
    if (slots.has(seed.id)) throw new Error(`device id ${seed.id} is listed twice`);
    const memory: DeviceMemory = saved.get(seed.id) ?? { seq: 0, version: 0, firmware: seed.firmwareVersion ?? DEFAULT_FIRMWARE, status: "idle", power: "ON" };
    const device = new SimDevice(seed.id, seed.type ?? "sim", deviceProfile(seed.id, seed.region, faults), memory, ctx);
    slots.set(seed.id, { device, link: "idle", wakeAt: 0, attempt: 0 });
  }

  const events: LinkEvents = {
    up(id) {
      const slot = slots.get(id);
      if (!slot || stopping) return;
      slot.link = "up";
      slot.attempt = 0;
      stats.connects++;
      slot.device.connected(Date.now());
    },
    down(id) {
      const slot = slots.get(id);
      if (!slot || stopping) return;
      slot.device.disconnected();
      if (slot.link === "waiting") return; // dropped on purpose (offline spell, reboot): already scheduled
      slot.link = "waiting";
      slot.wakeAt = Date.now() + fullJitterBackoff(slot.attempt++, RECONNECT_BASE_MS, RECONNECT_CAP_MS, random);
    },
    message(id, suffix: ResponseTopic, payload) {
      const slot = slots.get(id);
      if (!slot || stopping) return;
      let body: Record<string, unknown> | null = null;
      try {
        body = obj(JSON.parse(payload.toString("utf8")));
      } catch {
        // not JSON: counted below
      }
      if (body) slot.device.receive(suffix, body, Date.now());
      else stats.lastError = `unreadable ${suffix} for ${id}`;
    },
    error(err) {
      stats.connectErrors++;
      stats.lastError = err.message;
    },
  };
  const ids = [...slots.keys()];
  const transport: Transport =
    options.gateway && options.gateway > 0
      ? gatewayTransport(
          { url, count: options.gateway, username: options.platformUsername ?? config.mqttUsername, password: options.platformPassword ?? config.mqttPassword, prefix, ids },
          events,
        )
      : directTransport({ url, password: options.password, prefix }, events);

  /** Before dropping a link on purpose: the close that follows is expected. */
  function takeDown(slot: Slot, wakeAt: number): void {
    slot.device.disconnected();
    slot.link = "waiting";
    slot.wakeAt = wakeAt;
  }

  function handleEffect(device: SimDevice, effect: Effect): void {
    if (effect.kind === "publish") return transport.publish(device.id, effect.suffix, JSON.stringify(effect.payload), effect.retain ?? false);
    const slot = slots.get(device.id)!;
    takeDown(slot, Date.now() + effect.downMs);
    transport.drop(device.id);
  }

  const startedAt = Date.now();
  let last = startedAt;
  let connectBudget = 0;
  const connectRate = options.connectRate ?? 250;
  let massDone = faults.massReconnectAtSec === null;
  let lastSave = startedAt;
  let saving: Promise<void> | null = null;
  const save = (clean: boolean) => saveState(statePath!, [...slots.values()].map((s) => s.device), clean, saved);

  function tick(): void {
    const now = Date.now();
    connectBudget = Math.min(connectRate, connectBudget + (connectRate * (now - last)) / 1000);
    last = now;
    if (!massDone && now - startedAt >= faults.massReconnectAtSec! * 1000) {
      massDone = true;
      stats.massReconnects++;
      log(`[sim] mass reconnect: dropping every connection`);
      for (const slot of slots.values()) takeDown(slot, now + fullJitterBackoff(0, RECONNECT_BASE_MS, RECONNECT_CAP_MS, random));
      transport.dropAll();
    }
    for (const slot of slots.values()) {
      if (slot.link === "up") slot.device.tick(now);
      else if ((slot.link === "waiting" && now >= slot.wakeAt) || (slot.link === "idle" && connectBudget >= 1)) {
        if (slot.link === "idle") connectBudget--;
        slot.link = "connecting";
        transport.open(slot.device.id);
      }
    }
    if (statePath && !saving && now - lastSave >= SAVE_EVERY_MS) {
      lastSave = now;
      saving = save(false)
        .catch((err: Error) => log(`[sim] saving ${statePath} failed: ${err.message}`))
        .finally(() => (saving = null));
    }
  }
  const timer = setInterval(tick, TICK_MS);

  let stopped: Promise<void> | null = null;
  return {
    stats() {
      const s = copyStats(stats);
      s.connected = 0;
      for (const slot of slots.values()) if (slot.link === "up") s.connected++;
      return s;
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        stopping = true;
        await transport.close();
        for (const slot of slots.values()) slot.link = "idle";
        await saving;
        if (statePath) await save(true);
      })();
      return stopped;
    },
  };
}
