// Resolves who is signed in. A JWT alone is not trusted: the user must still
// exist, be enabled, hold the same session version (bumped to revoke every
// session) and be within the absolute session lifetime. The role always comes
// from the database, never from the cookie.
import { getServerSession } from "next-auth";
import { prisma } from "@/server/db/client.ts";
import { config } from "@/server/config.ts";
import { buildAuthOptions } from "./options.ts";
import type { Role } from "./permissions.ts";

export type SessionUser = { id: string; email: string; name: string; role: Role };
export type SessionClaims = { uid?: string; sv?: number; authTime?: number };

let authOptions: ReturnType<typeof buildAuthOptions> | undefined;
export function getAuthOptions() {
  authOptions ??= buildAuthOptions();
  return authOptions;
}

export function isWithinAbsoluteLifetime(authTime: number | undefined, nowSec = Date.now() / 1000): boolean {
  return authTime !== undefined && nowSec - authTime <= config.sessionMaxHours * 3600;
}

export async function resolveSessionUser(claims: SessionClaims | null | undefined): Promise<SessionUser | null> {
  if (!claims?.uid || claims.sv === undefined || !isWithinAbsoluteLifetime(claims.authTime)) return null;
  const user = await prisma.user.findUnique({
    where: { id: claims.uid },
    select: { id: true, email: true, name: true, role: true, sessionVersion: true, disabledAt: true },
  });
  if (!user || user.disabledAt || user.sessionVersion !== claims.sv) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** For server components and route handlers. */
export async function getCurrentUser(): Promise<SessionUser | null> {
  const session = await getServerSession(getAuthOptions());
  return resolveSessionUser(session);
}
