import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { DeviceView } from "./device-view.tsx";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: decodeURIComponent((await params).id) };
}

export default async function DevicePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "fleet:read")) return <Forbidden what="this device" />;
  const deviceId = decodeURIComponent((await params).id);
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(trpc.shadow.get.queryOptions({ deviceId })),
    queryClient.prefetchQuery(trpc.shadow.events.queryOptions({ deviceId, limit: 50 })),
  ]);
  return (
    <HydrateClient>
      <DeviceView deviceId={deviceId} />
    </HydrateClient>
  );
}
