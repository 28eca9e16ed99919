// Demo data: one user per role and a demo fleet of 1,500 devices. Generated
// from a fixed seed so every demo looks the same.
import { prisma } from "@/server/db/client.ts";
import { hashPassword, generatePassword } from "@/server/auth/password.ts";
import { ROLES, type Role } from "@/server/auth/permissions.ts";
import { importDevices } from "@/server/devices/mutations.ts";
import type { ManifestRow } from "@/server/devices/rules.ts";

const DEMO_TYPES = [
  { type: "gw-edge", hardware: ["rev-a", "rev-b"], firmware: ["4.1.5", "4.1.5", "4.1.4", "4.0.9"] },
  { type: "sensor-th", hardware: ["r1", "r2", "r3"], firmware: ["2.3.0", "2.3.0", "2.2.7"] },
  { type: "meter-e3", hardware: ["m3"], firmware: ["1.9.2", "1.9.2", "1.8.0"] },
  { type: "cam-lite", hardware: ["c1", "c2"], firmware: ["3.0.1", "3.0.0"] },
];
const DEMO_REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"];
const DEMO_TAGS = ["pilot", "indoor", "outdoor", "critical", "lab"];

/** Mulberry32: tiny deterministic PRNG. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function demoFleet(count = 1500): ManifestRow[] {
  const random = prng(20260718);
  const pick = <T,>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const model = DEMO_TYPES[i % DEMO_TYPES.length]!;
    const tags = DEMO_TAGS.filter(() => random() < 0.18);
    return {
      line: i + 2,
      id: `${model.type}-${String(i + 1).padStart(5, "0")}`,
      type: model.type,
      hardwareVersion: pick(model.hardware),
      region: pick(DEMO_REGIONS),
      firmwareVersion: pick(model.firmware),
      tags,
    };
  });
}

export async function seedDemoUsers(): Promise<Array<{ email: string; role: Role; password: string }>> {
  const created: Array<{ email: string; role: Role; password: string }> = [];
  for (const role of ROLES) {
    const email = `${role}@fleetwave.local`;
    if (await prisma.user.findUnique({ where: { email }, select: { id: true } })) continue;
    const password = generatePassword();
    await prisma.user.create({
      data: { email, name: `Demo ${role}`, role, passwordHash: await hashPassword(password) },
    });
    created.push({ email, role, password });
  }
  return created;
}

export async function seedDemo(options: { devices?: number } = {}) {
  const users = await seedDemoUsers();
  const fleet = await importDevices(demoFleet(options.devices ?? 1500), [], { type: "system", label: "demo seed" }, { fileName: "demo fleet" });
  const firmware = await seedDemoFirmware();
  return { users, fleet, firmware };
}

/** Demo firmware: the next release of each type, and a release candidate the demo fleet fails on. */
export const DEMO_FIRMWARE = [
  { deviceType: "gw-edge", version: "4.2.0", notes: "Gateway maintenance release: TLS session resumption, watchdog fix." },
  { deviceType: "gw-edge", version: "4.3.0-rc.1", notes: "Release candidate. Known issue: fails to boot on some units (the demo fleet fails 40% of installs).", failRate: 0.4 },
  { deviceType: "sensor-th", version: "2.4.0", notes: "Humidity calibration update." },
  { deviceType: "meter-e3", version: "2.0.0", minVersion: "1.9.0", notes: "New metering core; devices below 1.9.0 need 1.9.x first." },
  { deviceType: "cam-lite", version: "3.1.0", compatibleHardware: ["c2"], notes: "Night mode for c2 hardware only." },
];

/** Version → share of simulated installs that fail, for the demo fleet. */
export const DEMO_FAIL_RATES = new Map(DEMO_FIRMWARE.filter((f) => f.failRate).map((f) => [f.version, f.failRate!]));

function demoImage(seed: number, size = 256 * 1024): Uint8Array {
  const random = prng(seed);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

export async function seedDemoFirmware(): Promise<number> {
  const { uploadFirmware } = await import("@/server/firmware/mutations.ts");
  let created = 0;
  for (const [i, f] of DEMO_FIRMWARE.entries()) {
    if (await prisma.firmware.findFirst({ where: { deviceType: f.deviceType, version: f.version }, select: { id: true } })) continue;
    await uploadFirmware(
      {
        bytes: demoImage(1000 + i),
        fileName: `${f.deviceType}-${f.version}.bin`,
        version: f.version,
        deviceType: f.deviceType,
        compatibleHardware: f.compatibleHardware ?? [],
        minVersion: f.minVersion,
        releaseNotes: f.notes,
      },
      { type: "system", label: "demo seed" },
    );
    created++;
  }
  return created;
}

export function printCredentials(users: Array<{ email: string; role: Role; password: string }>) {
  if (users.length === 0) return;
  console.log("\n  Demo users (passwords are shown this once; reset with `npm run fleet -- users reset-password EMAIL`):");
  for (const u of users) console.log(`    ${u.role.padEnd(9)} ${u.email.padEnd(28)} ${u.password}`);
  console.log("");
}
