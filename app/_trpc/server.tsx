import "server-only";
import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { cache, type ReactNode } from "react";
import { appRouter } from "@/server/trpc/root.ts";
import { getCurrentUser } from "@/server/auth/session.ts";
import { makeQueryClient } from "./query-client.ts";

export const getQueryClient = cache(makeQueryClient);

/** Server components prefetch through this; client components hydrate from the same cache keys. */
export const trpc = createTRPCOptionsProxy({
  ctx: async () => ({ user: await getCurrentUser(), ip: null }),
  router: appRouter,
  queryClient: getQueryClient,
});

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
