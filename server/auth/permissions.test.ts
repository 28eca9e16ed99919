import { describe, expect, it } from "vitest";
import { can, permissionsOf, PERMISSIONS, ROLES } from "./permissions.ts";

describe("permission table", () => {
  it("keeps the role ladder: each role can do everything the one below it can (manager aside)", () => {
    for (const p of permissionsOf("operator").filter((p) => p !== "audit:read")) expect(can("engineer", p)).toBe(true);
    for (const p of permissionsOf("engineer")) expect(can("admin", p)).toBe(true);
  });

  it("lets managers read and audit but change nothing", () => {
    expect(permissionsOf("manager").sort()).toEqual(["audit:read", "fleet:read"]);
  });

  it("gives the registry and users to admins only", () => {
    for (const role of ROLES) {
      expect(can(role, "device:manage")).toBe(role === "admin");
      expect(can(role, "user:manage")).toBe(role === "admin");
    }
  });

  it("lets operators pause but not launch", () => {
    expect(can("operator", "rollout:pause")).toBe(true);
    expect(can("operator", "rollout:launch")).toBe(false);
    expect(can("engineer", "rollout:launch")).toBe(true);
  });

  it("names only known roles", () => {
    for (const roles of Object.values(PERMISSIONS)) for (const r of roles) expect(ROLES).toContain(r);
  });
});
