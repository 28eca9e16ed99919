// Who the CLI acts as: a named user (FLEETWAVE_ACTOR or --as, an e-mail),
// checked against the same permission table as the UI, so a pipeline's
// actions are audited under a person and refused like theirs.
import { can, isRole, type Permission } from "@/server/auth/permissions.ts";
import type { Actor } from "@/server/audit/mutations.ts";
import { getPool } from "@/server/db/client.ts";

export class CliUsageError extends Error {}

export async function actingUser(email: string | undefined, permission: Permission): Promise<Actor> {
  const who = (email ?? process.env.FLEETWAVE_ACTOR)?.toLowerCase();
  if (!who) throw new CliUsageError("set FLEETWAVE_ACTOR (or --as) to the e-mail of the user the CLI acts as");
  const { rows } = await getPool().query<{ id: string; role: string; disabled: boolean }>(
    "SELECT id, role::text AS role, disabled_at IS NOT NULL AS disabled FROM users WHERE email = $1",
    [who],
  );
  const user = rows[0];
  if (!user || user.disabled) throw new CliUsageError(`no active user ${who}`);
  if (!isRole(user.role) || !can(user.role, permission)) throw new CliUsageError(`${who} (${user.role}) may not do this: it needs "${permission}"`);
  return { type: "cli", id: user.id, label: `${who} (cli)` };
}

