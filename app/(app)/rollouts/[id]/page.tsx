import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { devicesFilterFromParams, devicesInput, failingInput } from "./params.ts";
import { RolloutView } from "./rollout-view.tsx";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const id = (await params).id;
  if (!UUID.test(id)) return { title: "Rollout" };
  // The page's prefetch reads the same per-request cache, so this costs no second query.
  const rollout = await getQueryClient().fetchQuery(trpc.rollouts.get.queryOptions({ id })).catch(() => null);
  return { title: rollout ? `${rollout.name} · Rollout` : "Rollout" };
}

export default async function RolloutPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "fleet:read")) return <Forbidden what="rollouts" />;
  const id = (await params).id;
  if (UUID.test(id)) {
    const queryClient = getQueryClient();
    await Promise.all([
      queryClient.prefetchQuery(trpc.rollouts.get.queryOptions({ id })),
      queryClient.prefetchQuery(trpc.rollouts.devices.queryOptions(failingInput(id))),
      queryClient.prefetchQuery(trpc.rollouts.devices.queryOptions(devicesInput(id, devicesFilterFromParams(await searchParams)))),
    ]);
  }
  return (
    <HydrateClient>
      <RolloutView
        rolloutId={id}
        currentUserId={user.id}
        allowed={{ launch: can(user.role, "rollout:launch"), pause: can(user.role, "rollout:pause") }}
      />
    </HydrateClient>
  );
}
