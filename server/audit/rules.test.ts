import { describe, expect, it } from "vitest";
import { auditHash, canonicalJson, findBrokenLink, GENESIS_HASH, type AuditContent } from "./rules.ts";

function content(action: string, data: unknown = {}): AuditContent {
  return { at: new Date("2026-01-02T03:04:05.678Z"), actorType: "user", actorId: "u1", actorLabel: "a@b", action, targetType: null, targetId: null, reason: null, data };
}

function chain(actions: string[]) {
  let prev = GENESIS_HASH;
  return actions.map((action, i) => {
    const c = content(action);
    const hash = auditHash(prev, c);
    const event = { ...c, id: BigInt(i + 1), prevHash: prev, hash };
    prev = hash;
    return event;
  });
}

describe("audit chain", () => {
  it("hashes content independently of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(auditHash(GENESIS_HASH, content("x", { b: 1, a: 2 }))).toBe(auditHash(GENESIS_HASH, content("x", { a: 2, b: 1 })));
  });

  it("finds no break in an intact chain", () => {
    expect(findBrokenLink(chain(["a", "b", "c"]))).toBeNull();
  });

  it("finds an edited row", () => {
    const events = chain(["a", "b", "c"]);
    events[1] = { ...events[1]!, action: "forged" };
    expect(findBrokenLink(events)).toBe(2n);
  });

  it("finds a deleted row", () => {
    const events = chain(["a", "b", "c"]);
    expect(findBrokenLink([events[0]!, events[2]!])).toBe(3n);
  });
});
