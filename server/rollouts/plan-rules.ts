// The wave planner: who is targeted, who is skipped and why, and which wave
// each device falls in. Pure and deterministic: a device's place comes from a
// hash of the rollout's seed and its id, so planning again (a preview, then
// the launch, or a re-plan after new devices arrive) does not reshuffle.
import { createHash } from "node:crypto";
import { compareVersions, isVersion } from "./version-rules.ts";

export type PlanDevice = { id: string; type: string; hardwareVersion: string; region: string; tags: string[]; firmwareVersion: string; revoked?: boolean };
export type PlanFirmware = { version: string; deviceType: string; compatibleHardware: string[]; minVersion: string | null };
export type Targeting = { regions?: string[]; hardware?: string[]; tags?: string[]; versionMin?: string; versionMax?: string };
export type Strategy =
  | { kind: "canary"; canaryPct: number; stagedPct: number }
  | { kind: "equal"; waves: number }
  | { kind: "explicit"; sizes: number[] };

export type SkipReason = "incompatible_hardware" | "below_minimum_version" | "already_on_target" | "revoked";
export type Plan = { waves: Array<{ index: number; deviceIds: string[] }>; skipped: Array<{ deviceId: string; reason: SkipReason; detail: string }> };

export const DEFAULT_STRATEGY: Strategy = { kind: "canary", canaryPct: 1, stagedPct: 10 };

/** Position of a device in a rollout's order, in [0, 1). */
export function cohortPosition(seed: string, deviceId: string): number {
  const digest = createHash("sha256").update(seed).update("\u0000").update(deviceId).digest();
  return digest.readUInt32BE(0) / 2 ** 32 + digest.readUInt32BE(4) / 2 ** 64;
}

/** Is the device in the rollout's audience at all (type, region, hardware filter, tags, version range)? */
export function isTargeted(device: PlanDevice, firmware: PlanFirmware, t: Targeting): boolean {
  if (device.type !== firmware.deviceType) return false;
  if (t.regions?.length && !t.regions.includes(device.region)) return false;
  if (t.hardware?.length && !t.hardware.includes(device.hardwareVersion)) return false;
  if (t.tags?.length && !t.tags.some((tag) => device.tags.includes(tag))) return false;
  if (t.versionMin && isVersion(device.firmwareVersion) && compareVersions(device.firmwareVersion, t.versionMin) < 0) return false;
  if (t.versionMax && isVersion(device.firmwareVersion) && compareVersions(device.firmwareVersion, t.versionMax) > 0) return false;
  return true;
}

/** Why a targeted device cannot take this firmware, or null when it can. */
export function skipReason(device: PlanDevice, firmware: PlanFirmware): { reason: SkipReason; detail: string } | null {
  if (device.revoked) return { reason: "revoked", detail: "the device is revoked" };
  if (firmware.compatibleHardware.length > 0 && !firmware.compatibleHardware.includes(device.hardwareVersion)) {
    return { reason: "incompatible_hardware", detail: `hardware ${device.hardwareVersion} is not in ${firmware.compatibleHardware.join(", ")}` };
  }
  if (device.firmwareVersion === firmware.version) return { reason: "already_on_target", detail: `already runs ${firmware.version}` };
  if (firmware.minVersion && (!isVersion(device.firmwareVersion) || compareVersions(device.firmwareVersion, firmware.minVersion) < 0)) {
    return { reason: "below_minimum_version", detail: `runs ${device.firmwareVersion}, needs at least ${firmware.minVersion}` };
  }
  return null;
}

/** Wave sizes for n eligible devices. Every wave has at least one device; empty waves are dropped. */
export function waveSizes(n: number, strategy: Strategy): number[] {
  if (n === 0) return [];
  let sizes: number[];
  if (strategy.kind === "equal") {
    const waves = Math.max(1, Math.min(strategy.waves, n));
    sizes = Array.from({ length: waves }, (_, i) => Math.floor((n * (i + 1)) / waves) - Math.floor((n * i) / waves));
  } else if (strategy.kind === "explicit") {
    sizes = [];
    let left = n;
    for (const size of strategy.sizes) {
      const take = Math.min(left, Math.max(0, Math.floor(size)));
      sizes.push(take);
      left -= take;
    }
    if (left > 0) sizes.push(left);
  } else {
    const canary = Math.min(n, Math.max(1, Math.round((n * strategy.canaryPct) / 100)));
    const staged = Math.min(n - canary, Math.max(strategy.stagedPct > 0 ? 1 : 0, Math.round((n * strategy.stagedPct) / 100)));
    sizes = [canary, staged, n - canary - staged];
  }
  return sizes.filter((s) => s > 0);
}

export function planRollout(seed: string, devices: PlanDevice[], firmware: PlanFirmware, targeting: Targeting, strategy: Strategy): Plan {
  const eligible: Array<{ id: string; position: number }> = [];
  const skipped: Plan["skipped"] = [];
  for (const device of devices) {
    if (!isTargeted(device, firmware, targeting)) continue;
    const skip = skipReason(device, firmware);
    if (skip) skipped.push({ deviceId: device.id, ...skip });
    else eligible.push({ id: device.id, position: cohortPosition(seed, device.id) });
  }
  eligible.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1));
  const waves: Plan["waves"] = [];
  let start = 0;
  for (const [index, size] of waveSizes(eligible.length, strategy).entries()) {
    waves.push({ index, deviceIds: eligible.slice(start, start + size).map((d) => d.id) });
    start += size;
  }
  skipped.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  return { waves, skipped };
}
