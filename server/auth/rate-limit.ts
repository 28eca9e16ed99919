// Sign-in throttling per account and per client address. Attempts live in the
// database so every web node sees the same counts.
import { prisma } from "@/server/db/client.ts";
import { config } from "@/server/config.ts";

export type LoginThrottle = { limited: false } | { limited: true; retryAfterSec: number; scope: "account" | "ip" };

export function accountKey(email: string): string {
  return `account:${email.trim().toLowerCase()}`;
}

export function ipKey(ip: string): string {
  return `ip:${ip}`;
}

async function failuresSince(key: string, since: Date) {
  return prisma.loginAttempt.findMany({
    where: { key, succeeded: false, createdAt: { gte: since } },
    orderBy: { createdAt: "asc" },
    select: { createdAt: true },
  });
}

/** Checked before the password is even looked at, so a locked account costs no hashing. */
export async function checkLoginThrottle(email: string, ip: string | null): Promise<LoginThrottle> {
  const windowMs = config.loginWindowMinutes * 60_000;
  const since = new Date(Date.now() - windowMs);
  const checks: Array<{ key: string; max: number; scope: "account" | "ip" }> = [
    { key: accountKey(email), max: config.loginMaxFailuresPerAccount, scope: "account" },
  ];
  if (ip) checks.push({ key: ipKey(ip), max: config.loginMaxFailuresPerIp, scope: "ip" });
  for (const { key, max, scope } of checks) {
    const failures = await failuresSince(key, since);
    if (failures.length >= max) {
      // The window slides: the oldest failure that still counts decides when one frees up.
      const oldest = failures[failures.length - max]!.createdAt.getTime();
      return { limited: true, retryAfterSec: Math.max(1, Math.ceil((oldest + windowMs - Date.now()) / 1000)), scope };
    }
  }
  return { limited: false };
}

export async function recordLoginAttempt(email: string, ip: string | null, succeeded: boolean): Promise<void> {
  const rows = [{ key: accountKey(email), succeeded }];
  if (ip) rows.push({ key: ipKey(ip), succeeded });
  await prisma.loginAttempt.createMany({ data: rows });
  if (succeeded) {
    // A successful sign-in clears the account's failures (not the address's).
    await prisma.loginAttempt.deleteMany({ where: { key: accountKey(email), succeeded: false } });
  }
}
