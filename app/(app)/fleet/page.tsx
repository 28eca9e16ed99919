import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { fleetInputFromParams, summaryInputOf } from "./params.ts";
import { FleetView } from "./fleet-view.tsx";

export const metadata: Metadata = { title: "Fleet" };

export default async function FleetPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "fleet:read")) return <Forbidden what="the fleet" />;
  const input = fleetInputFromParams(await searchParams);
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(trpc.devices.list.queryOptions(input)),
    queryClient.prefetchQuery(trpc.devices.summary.queryOptions(summaryInputOf(input))),
    queryClient.prefetchQuery(trpc.devices.facets.queryOptions()),
  ]);
  return (
    <HydrateClient>
      <FleetView />
    </HydrateClient>
  );
}
