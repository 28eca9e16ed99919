import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/trpc/root.ts";
import { createRequestContext } from "@/server/trpc/context.ts";

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createRequestContext(req),
  });

export { handler as GET, handler as POST };
export const dynamic = "force-dynamic";
