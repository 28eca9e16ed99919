// Plausible telemetry for a device type, computed from the time and the
// device's seed rather than stored: a slow daily cycle plus noise, so
// 1,500 devices need no per-device telemetry state.
import type { Power } from "./messages.ts";

const DAY_MS = 86_400_000;

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Reported keys for one update; `random` adds the noise. */
export function telemetry(type: string, seed: number, nowMs: number, power: Power, random: () => number): Record<string, number> {
  const daily = Math.sin((2 * Math.PI * (nowMs / DAY_MS + seed)) % (2 * Math.PI));
  const noise = () => random() - 0.5;
  const rssi = Math.round(-50 - seed * 35 + noise() * 6);
  const busy = power === "ACTIVE" ? 1 : power === "ON" ? 0.3 : 0;
  const family = type.split("-")[0];
  switch (family) {
    case "sensor":
      return { temperature: round(19 + seed * 6 + daily * 3 + noise(), 1), humidity: round(45 + daily * 10 + noise() * 4, 1), rssi };
    case "meter":
      return {
        energyKwh: round(1000 * seed + (nowMs / 3_600_000) * (0.4 + seed), 2),
        voltage: round(230 + noise() * 4, 1),
        rssi,
      };
    case "cam":
      return { temperature: round(35 + busy * 10 + daily * 2 + noise(), 1), fps: busy > 0.5 ? 30 : 15, rssi };
    default:
      return { temperature: round(38 + busy * 15 + daily * 3 + noise() * 2, 1), cpuLoad: round(0.05 + busy * 0.6 + random() * 0.2, 2), rssi };
  }
}
