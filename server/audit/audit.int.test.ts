// The audit chain survives a round trip through PostgreSQL (jsonb reorders
// keys, timestamps lose sub-millisecond precision) and shows tampering.
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/server/db/vitest-database.ts";

useTestDatabase();

describe("audit history", () => {
  it("verifies an intact chain and finds an edited row", async () => {
    const { recordAuditNow } = await import("./mutations.ts");
    const { verifyAuditChain } = await import("./data.ts");
    const { prisma } = await import("@/server/db/client.ts");
    const actor = { type: "user" as const, id: "u-1", label: "ops@example.test" };
    for (let i = 0; i < 5; i++) {
      await recordAuditNow({ actor, action: "test.event", target: { type: "device", id: `d-${i}` }, data: { z: i, a: { nested: [1, "two"] }, note: "ünïcode" } });
    }
    // Concurrent appends still form one chain.
    await Promise.all(Array.from({ length: 10 }, (_, i) => recordAuditNow({ actor, action: "test.parallel", data: { i } })));
    expect(await verifyAuditChain()).toEqual({ checked: 15, brokenAtId: null });

    const victim = await prisma.auditEvent.findFirstOrThrow({ where: { action: "test.event" }, orderBy: { id: "asc" }, skip: 2 });
    await prisma.$executeRaw`UPDATE audit_events SET data = '{"z": 999}' WHERE id = ${victim.id}`;
    expect(await verifyAuditChain()).toEqual({ checked: 2, brokenAtId: victim.id.toString() });
  });
});
