import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { rolloutListInputFromParams } from "./params.ts";
import { RolloutsView } from "./rollouts-view.tsx";

export const metadata: Metadata = { title: "Rollouts" };

export default async function RolloutsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "fleet:read")) return <Forbidden what="rollouts" />;
  await getQueryClient().prefetchQuery(trpc.rollouts.list.queryOptions(rolloutListInputFromParams(await searchParams)));
  return (
    <HydrateClient>
      <RolloutsView canLaunch={can(user.role, "rollout:launch")} />
    </HydrateClient>
  );
}
