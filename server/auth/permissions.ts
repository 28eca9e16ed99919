// The one permission table. tRPC procedures, socket rooms and pages all ask
// `can(role, permission)`; nothing else decides who may do what.

export const ROLES = ["manager", "operator", "engineer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  /** See the fleet, devices, rollouts and alerts. */
  "fleet:read": ["manager", "operator", "engineer", "admin"],
  /** Review the audit history. */
  "audit:read": ["manager", "admin"],
  "alert:acknowledge": ["operator", "engineer", "admin"],
  /** Pause and resume a running rollout. */
  "rollout:pause": ["operator", "engineer", "admin"],
  "firmware:upload": ["engineer", "admin"],
  /** Launch, approve and abort rollouts. */
  "rollout:launch": ["engineer", "admin"],
  /** The device registry: import manifests, revoke devices. */
  "device:manage": ["admin"],
  "user:manage": ["admin"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

export function permissionsOf(role: Role): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => can(role, p));
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export const ROLE_LABELS: Record<Role, string> = {
  manager: "Manager",
  operator: "Operator",
  engineer: "Engineer",
  admin: "Admin",
};
