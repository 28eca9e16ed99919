// next-auth configuration: credentials (scrypt) always, OIDC when configured.
// Sessions are JWTs, but every request re-validates them against the database
// (server/auth/session.ts), which is what makes revocation and role changes
// take effect at once.
import type { NextAuthOptions, User as NextAuthUser } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import type { OAuthConfig } from "next-auth/providers/oauth";
import { prisma } from "@/server/db/client.ts";
import { config } from "@/server/config.ts";
import { recordAuditNow } from "@/server/audit/mutations.ts";
import { verifyPassword } from "./password.ts";
import { checkLoginThrottle, recordLoginAttempt } from "./rate-limit.ts";
import { clientIpFromHeaders } from "./client-ip.ts";
import { signInSchema } from "./schema.ts";

/** Error texts the sign-in page shows as they are. */
export const SIGN_IN_ERRORS = {
  invalid: "Wrong email or password.",
  disabled: "This account is disabled. Ask an admin.",
  malformed: "Enter an email address and a password.",
} as const;

function throttledMessage(retryAfterSec: number): string {
  const minutes = Math.ceil(retryAfterSec / 60);
  return `Too many failed sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

async function authorizeCredentials(raw: unknown, headers: Record<string, unknown> | undefined): Promise<NextAuthUser> {
  const parsed = signInSchema.safeParse(raw);
  if (!parsed.success) throw new Error(SIGN_IN_ERRORS.malformed);
  const email = parsed.data.email.toLowerCase();
  const ip = clientIpFromHeaders(headers);

  const throttle = await checkLoginThrottle(email, ip);
  if (throttle.limited) throw new Error(throttledMessage(throttle.retryAfterSec));

  const user = await prisma.user.findUnique({ where: { email } });
  const ok = user?.passwordHash ? await verifyPassword(parsed.data.password, user.passwordHash) : false;
  await recordLoginAttempt(email, ip, ok);
  if (!user || !ok) throw new Error(SIGN_IN_ERRORS.invalid);
  if (user.disabledAt) throw new Error(SIGN_IN_ERRORS.disabled);
  return { id: user.id, email: user.email, name: user.name };
}

function oidcProvider(): OAuthConfig<Record<string, string>> | null {
  const oidc = config.oidc;
  if (!oidc) return null;
  return {
    id: "oidc",
    name: oidc.name,
    type: "oauth",
    wellKnown: `${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret,
    authorization: { params: { scope: "openid email profile" } },
    idToken: true,
    checks: ["pkce", "state"],
    profile: (profile) => ({ id: profile.sub ?? "", email: profile.email, name: profile.name ?? profile.email }),
  };
}

/** OIDC users are provisioned on first sign-in with the configured default role. */
async function userForOidcEmail(email: string, name: string) {
  const existing = await prisma.user.findUnique({ where: { email } });
  if (existing) return existing;
  return prisma.user.create({ data: { email, name, role: config.oidc?.defaultRole ?? "operator" } });
}

export function buildAuthOptions(): NextAuthOptions {
  const oidc = oidcProvider();
  return {
    secret: config.authSecret,
    pages: { signIn: "/signin", error: "/signin" },
    session: {
      strategy: "jwt",
      // Idle expiry: the cookie lives this long past the last refresh...
      maxAge: config.sessionIdleMinutes * 60,
      // ...and is refreshed at most this often while the user is active.
      updateAge: Math.min(5 * 60, config.sessionIdleMinutes * 30),
    },
    providers: [
      CredentialsProvider({
        id: "credentials",
        name: "Email and password",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        authorize: (credentials, req) => authorizeCredentials(credentials, req?.headers),
      }),
      ...(oidc ? [oidc] : []),
    ],
    callbacks: {
      async signIn({ user, account }) {
        if (account?.provider !== "oidc") return true;
        if (!user.email) return "/signin?error=OidcNoEmail";
        const dbUser = await userForOidcEmail(user.email.toLowerCase(), user.name ?? user.email);
        return dbUser.disabledAt ? "/signin?error=AccessDenied" : true;
      },
      async jwt({ token, user, account }) {
        if (user && account) {
          // First call after sign-in: bind the token to the database user and its session version.
          const email = (user.email ?? "").toLowerCase();
          const dbUser = await prisma.user.findUnique({ where: { email } });
          if (!dbUser) return token;
          token.uid = dbUser.id;
          token.sv = dbUser.sessionVersion;
          token.authTime = Math.floor(Date.now() / 1000);
          await prisma.user.update({ where: { id: dbUser.id }, data: { lastLoginAt: new Date() } });
          await recordAuditNow({
            actor: { type: "user", id: dbUser.id, label: dbUser.email },
            action: "user.sign_in",
            target: { type: "user", id: dbUser.id },
            data: { provider: account.provider },
          });
        }
        return token;
      },
      session({ session, token }) {
        return { ...session, uid: token.uid, sv: token.sv, authTime: token.authTime };
      },
    },
  };
}
