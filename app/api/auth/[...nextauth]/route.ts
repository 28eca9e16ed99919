import NextAuth from "next-auth";
import { getAuthOptions } from "@/server/auth/session.ts";

const handler = (req: Request, ctx: { params: Promise<{ nextauth: string[] }> }) =>
  NextAuth(getAuthOptions())(req, ctx);

export { handler as GET, handler as POST };
export const dynamic = "force-dynamic";
