// Test helpers for the simulator's unit tests: one device wired to arrays
// instead of MQTT, a seeded PRNG, and the transition table of PROTOCOL.md
// (step 6) written out independently of the device and the platform code.
import type { ResponseTopic } from "@/server/mqtt/topics.ts";
import { SimDevice, type DeviceContext, type DeviceMemory, type Effect } from "./device.ts";
import { deviceProfile, NO_FAULTS, type FaultOptions } from "./faults.ts";
import { OtaRunner } from "./ota.ts";
import { newStats } from "./stats.ts";

export const FIRMWARE_NEXT: Record<string, string[]> = {
  idle: ["downloading", "idle"],
  downloading: ["verifying", "failed"],
  verifying: ["installing", "failed"],
  installing: ["completed", "failed", "rolled_back"],
  completed: ["downloading", "idle"],
  failed: ["downloading", "idle"],
  rolled_back: ["downloading", "idle"],
};
export const POWER_NEXT: Record<string, string[]> = { OFF: ["ON"], ON: ["OFF", "ACTIVE"], ACTIVE: ["ON", "OFF"] };

/** PROTOCOL.md step 6: null when allowed, else the offending attribute. */
export function transitionError(from: { power?: string; status?: string }, reported: Record<string, unknown>): string | null {
  const fw = (reported.firmware ?? {}) as Record<string, unknown>;
  const checks: Array<[string, string | undefined, unknown, Record<string, string[]>]> = [
    ["firmware.status", from.status, fw.status, FIRMWARE_NEXT],
    ["power", from.power, reported.power, POWER_NEXT],
  ];
  for (const [attribute, before, after, table] of checks) {
    if (typeof after !== "string" || before === undefined || before === after) continue;
    if (!table[before]?.includes(after)) return `${attribute}: ${before} → ${after}`;
  }
  return null;
}

/** Mulberry32. */
export function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Published = { suffix: string; payload: Record<string, unknown>; retain: boolean };

export function makeDevice(
  o: { memory?: Partial<DeviceMemory>; faults?: Partial<FaultOptions>; random?: () => number; failRates?: Array<[string, number]> } = {},
) {
  const sent: Published[] = [];
  const drops: Array<Extract<Effect, { kind: "disconnect" }>> = [];
  const stats = newStats(1);
  const faults = { ...NO_FAULTS, ...o.faults };
  const ctx: DeviceContext = {
    random: o.random ?? (() => 0.99), // 0.99: no fault fires, power stays
    faults,
    updateIntervalMs: 1000,
    responseTimeoutMs: 5000,
    ota: new OtaRunner({ speed: 1000, failRates: new Map(o.failRates ?? []), concurrency: 4 }),
    stats,
    emit: (_device, effect) =>
      effect.kind === "publish" ? sent.push({ suffix: effect.suffix, payload: effect.payload, retain: effect.retain ?? false }) : drops.push(effect),
  };
  const memory: DeviceMemory = { seq: 10, version: 5, firmware: "1.0.0", status: "idle", power: "ON", ...o.memory };
  const device = new SimDevice("dev-1", "sensor-th", deviceProfile("dev-1", "eu-west", faults), memory, ctx);
  const receive = (suffix: ResponseTopic, body: Record<string, unknown>, now: number) => device.receive(suffix, body, now);
  /** Connects and answers the sync/request with mode none. */
  const online = (now = 0) => {
    device.connected(now);
    receive("sync", { type: "sync", mode: "none", fromVersion: memory.version, toVersion: memory.version, state: {} }, now);
  };
  const take = () => sent.splice(0);
  const updates = () => sent.filter((m) => m.suffix === "shadow/update").map((m) => m.payload as { seq: number; version: number; clientToken: string; state: { reported: Record<string, unknown> } });
  return { device, memory, faults, sent, drops, stats, receive, online, take, updates };
}
