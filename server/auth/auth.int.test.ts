// Sign-in throttling and session validation against the real database.
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/server/db/vitest-database.ts";

useTestDatabase();

describe("sign-in throttling", () => {
  it("locks an account after 5 failures in the window, whatever the address, and a success clears it", async () => {
    const { checkLoginThrottle, recordLoginAttempt } = await import("./rate-limit.ts");
    const email = "locked@example.test";
    for (let i = 0; i < 4; i++) await recordLoginAttempt(email, `10.0.0.${i}`, false);
    expect((await checkLoginThrottle(email, "10.0.0.9")).limited).toBe(false);
    await recordLoginAttempt(email, "10.0.0.5", false);
    const throttle = await checkLoginThrottle(email, "10.0.0.9");
    expect(throttle).toMatchObject({ limited: true, scope: "account" });
    expect(throttle.limited && throttle.retryAfterSec).toBeGreaterThan(0);
    // Another account from a fresh address is not affected.
    expect((await checkLoginThrottle("other@example.test", "10.9.9.9")).limited).toBe(false);
  });

  it("limits one address trying many accounts", async () => {
    const { checkLoginThrottle, recordLoginAttempt } = await import("./rate-limit.ts");
    for (let i = 0; i < 30; i++) await recordLoginAttempt(`spray${i}@example.test`, "192.0.2.7", false);
    expect(await checkLoginThrottle("fresh@example.test", "192.0.2.7")).toMatchObject({ limited: true, scope: "ip" });
    expect((await checkLoginThrottle("fresh@example.test", "192.0.2.8")).limited).toBe(false);
  });
});

describe("session validation", () => {
  it("accepts a current session and refuses revoked, disabled, unknown and too-old ones", async () => {
    const { prisma } = await import("@/server/db/client.ts");
    const { resolveSessionUser } = await import("./session.ts");
    const user = await prisma.user.create({ data: { email: "s@example.test", name: "S", role: "operator" } });
    const now = Math.floor(Date.now() / 1000);
    const claims = { uid: user.id, sv: user.sessionVersion, authTime: now };
    expect(await resolveSessionUser(claims)).toMatchObject({ id: user.id, role: "operator" });

    // The role comes from the database, not the token.
    await prisma.user.update({ where: { id: user.id }, data: { role: "engineer" } });
    expect(await resolveSessionUser(claims)).toMatchObject({ role: "engineer" });

    expect(await resolveSessionUser({ ...claims, authTime: now - 25 * 3600 })).toBeNull();
    expect(await resolveSessionUser({ ...claims, uid: "00000000-0000-0000-0000-000000000000" })).toBeNull();
    expect(await resolveSessionUser({ uid: user.id })).toBeNull();

    await prisma.user.update({ where: { id: user.id }, data: { sessionVersion: { increment: 1 } } });
    expect(await resolveSessionUser(claims)).toBeNull();

    const fresh = { ...claims, sv: user.sessionVersion + 1 };
    expect(await resolveSessionUser(fresh)).not.toBeNull();
    await prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    expect(await resolveSessionUser(fresh)).toBeNull();
  });
});

describe("device import", () => {
  it("creates, then updates registry fields on re-import without touching the reported firmware", async () => {
    const { createCaller } = await import("@/server/trpc/root.ts");
    const { prisma } = await import("@/server/db/client.ts");
    const admin = await prisma.user.create({ data: { email: "adm@example.test", name: "A", role: "admin" } });
    const caller = createCaller({ user: { id: admin.id, email: admin.email, name: admin.name, role: "admin" }, ip: null });
    const header = "id,type,hardwareVersion,region,firmwareVersion,tags";
    const first = await caller.devices.import({ csv: `${header}\nimp-1,gw,a,eu-west,1.0.0,x\nimp-2,gw,a,eu-west,1.0.0,\nbad!,gw,a,eu,1.0.0,` });
    expect(first).toMatchObject({ created: 2, updated: 0, unchanged: 0 });
    expect(first.errors).toEqual([{ line: 4, reason: expect.stringMatching(/id "bad!"/) }]);
    await prisma.device.update({ where: { id: "imp-1" }, data: { firmwareVersion: "1.1.0" } });

    const second = await caller.devices.import({ csv: `${header}\nimp-1,gw,b,eu-west,1.0.0,x;y\nimp-2,gw,a,eu-west,1.0.0,` });
    expect(second).toMatchObject({ created: 0, updated: 1, unchanged: 1, errors: [] });
    const device = await prisma.device.findUniqueOrThrow({ where: { id: "imp-1" }, include: { shadow: true } });
    expect(device).toMatchObject({ hardwareVersion: "b", tags: ["x", "y"], firmwareVersion: "1.1.0" });
    expect(device.shadow).toMatchObject({ version: 0 });
    const audit = await prisma.auditEvent.findMany({ where: { action: "device.import" } });
    expect(audit).toHaveLength(2);
  });
});
