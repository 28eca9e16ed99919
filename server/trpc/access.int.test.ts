// Every tRPC procedure × every role: allowed, or FORBIDDEN. A procedure added
// to the router without a row here fails the first test, so no procedure can
// ship without its access rule being decided.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRPCError } from "@trpc/server";
import { createTestDatabase } from "@/server/db/test-database.ts";
import { ROLES, can, type Permission, type Role } from "@/server/auth/permissions.ts";

type Rule = { access: Permission | "authed"; input: () => unknown };

let ids: Record<Role, string>;
let targetUserId: string;

const NO_ROLLOUT = "00000000-0000-4000-8000-000000000001";
const ACCESS: Record<string, Rule> = {
  "devices.list": { access: "fleet:read", input: () => ({ page: 1, pageSize: 10 }) },
  "devices.summary": { access: "fleet:read", input: () => ({ online: "any" }) },
  "devices.facets": { access: "fleet:read", input: () => undefined },
  "devices.import": { access: "device:manage", input: () => ({ csv: `id,type,hardwareVersion,region,firmwareVersion,tags\nacc-${Math.random().toString(36).slice(2, 8)},t,h,r,1.0.0,` }) },
  "users.me": { access: "authed", input: () => undefined },
  "users.list": { access: "user:manage", input: () => undefined },
  "users.create": {
    access: "user:manage",
    input: () => ({ email: `u${Math.random().toString(36).slice(2, 10)}@example.test`, name: "New", role: "operator", password: "a-long-enough-password" }),
  },
  "users.setRole": { access: "user:manage", input: () => ({ userId: targetUserId, role: "operator" }) },
  "users.revokeSessions": { access: "user:manage", input: () => ({ userId: targetUserId }) },
  "users.setDisabled": { access: "user:manage", input: () => ({ userId: targetUserId, disabled: false }) },
  "shadow.get": { access: "fleet:read", input: () => ({ deviceId: "no-such-device" }) },
  "shadow.events": { access: "fleet:read", input: () => ({ deviceId: "no-such-device" }) },
  "audit.list": { access: "audit:read", input: () => ({ page: 1, pageSize: 10 }) },
  "audit.verify": { access: "audit:read", input: () => undefined },
  "firmware.list": { access: "fleet:read", input: () => ({ page: 1, pageSize: 10 }) },
  "firmware.get": { access: "fleet:read", input: () => ({ id: "00000000-0000-4000-8000-000000000000" }) },
  "rollouts.list": { access: "fleet:read", input: () => ({ page: 1, pageSize: 10 }) },
  "rollouts.get": { access: "fleet:read", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.devices": { access: "fleet:read", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.preview": { access: "rollout:launch", input: () => ({ firmwareId: NO_ROLLOUT }) },
  "rollouts.launch": { access: "rollout:launch", input: () => ({ firmwareId: NO_ROLLOUT, name: "access check" }) },
  "rollouts.approve": { access: "rollout:launch", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.pause": { access: "rollout:pause", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.resume": { access: "rollout:pause", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.abort": { access: "rollout:launch", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.advance": { access: "rollout:launch", input: () => ({ id: NO_ROLLOUT }) },
  "rollouts.retryFailed": { access: "rollout:launch", input: () => ({ id: NO_ROLLOUT }) },
};

let drop: () => Promise<void>;
let appRouter: typeof import("@/server/trpc/root.ts").appRouter;
let createCaller: typeof import("@/server/trpc/root.ts").createCaller;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  process.env.DATABASE_URL = db.url;
  ({ appRouter, createCaller } = await import("@/server/trpc/root.ts"));
  const { prisma } = await import("@/server/db/client.ts");
  ids = {} as Record<Role, string>;
  for (const role of ROLES) {
    const u = await prisma.user.create({ data: { email: `${role}-${Date.now()}@example.test`, name: role, role } });
    ids[role] = u.id;
  }
  targetUserId = (await prisma.user.create({ data: { email: `target-${Date.now()}@example.test`, name: "target", role: "operator" } })).id;
});

afterAll(async () => {
  const { disconnectDb } = await import("@/server/db/client.ts");
  await disconnectDb();
  await drop?.();
});

async function call(role: Role | null, path: string): Promise<{ ok: true } | { ok: false; code: string }> {
  const caller = createCaller({ user: role ? { id: ids[role], email: `${role}@example.test`, name: role, role } : null, ip: null });
  const [group, name] = path.split(".") as [string, string];
  const fn = (caller as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>)[group]![name]!;
  try {
    await fn(ACCESS[path]!.input());
    return { ok: true };
  } catch (err) {
    if (err instanceof TRPCError) return { ok: false, code: err.code };
    throw err;
  }
}

describe("tRPC access table", () => {
  it("lists every procedure of the router", () => {
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect(procedures).toEqual(Object.keys(ACCESS).sort());
  });

  it("records each procedure's permission in its meta, matching the table", () => {
    for (const [path, rule] of Object.entries(ACCESS)) {
      const procedure = (appRouter._def.procedures as unknown as Record<string, { _def: { meta?: { permission?: string } } }>)[path]!;
      expect(procedure._def.meta?.permission ?? "authed", path).toBe(rule.access);
    }
  });

  for (const path of Object.keys(ACCESS)) {
    it(`${path}: UNAUTHORIZED without a session`, async () => {
      expect(await call(null, path)).toEqual({ ok: false, code: "UNAUTHORIZED" });
    });
    for (const role of ROLES) {
      const rule = ACCESS[path]!;
      const allowed = rule.access === "authed" || can(role, rule.access);
      it(`${path} as ${role}: ${allowed ? "allowed" : "FORBIDDEN"}`, async () => {
        const result = await call(role, path);
        if (allowed) {
          // Allowed means the permission check passed; a domain answer (e.g. NOT_FOUND) is fine.
          if (!result.ok) expect(["FORBIDDEN", "UNAUTHORIZED"]).not.toContain(result.code);
        } else {
          expect(result).toEqual({ ok: false, code: "FORBIDDEN" });
        }
      });
    }
  }
});
