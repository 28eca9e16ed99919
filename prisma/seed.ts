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
  return { users, fleet };
}

export function printCredentials(users: Array<{ email: string; role: Role; password: string }>) {
  if (users.length === 0) return;
  console.log("\n  Demo users (passwords are shown this once; reset with `npm run fleet -- users reset-password EMAIL`):");
  for (const u of users) console.log(`    ${u.role.padEnd(9)} ${u.email.padEnd(28)} ${u.password}`);
  console.log("");
}
