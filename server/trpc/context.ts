import type { SessionUser } from "@/server/auth/session.ts";

export type Context = {
  user: SessionUser | null;
  ip: string | null;
};

/** For the fetch handler: the session comes from the request's cookies. */
export async function createRequestContext(req: Request): Promise<Context> {
  const { getCurrentUser } = await import("@/server/auth/session.ts");
  const { clientIpFromHeaders } = await import("@/server/auth/client-ip.ts");
  return { user: await getCurrentUser(), ip: clientIpFromHeaders(req.headers) };
}
