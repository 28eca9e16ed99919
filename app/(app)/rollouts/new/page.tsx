import type { Metadata } from "next";
import Link from "next/link";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { config } from "@/server/config.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { FIRMWARE_CHOICES } from "./launch-form.ts";
import { LaunchWizard } from "./launch-wizard.tsx";

export const metadata: Metadata = { title: "New rollout" };

export default async function NewRolloutPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "rollout:launch")) return <Forbidden what="launching rollouts" />;
  const firmware = (await searchParams).firmware;
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(trpc.firmware.list.queryOptions(FIRMWARE_CHOICES)),
    queryClient.prefetchQuery(trpc.devices.facets.queryOptions()),
  ]);
  return (
    <HydrateClient>
      <div className="flex flex-col gap-4">
        <div>
          <Link href="/rollouts" className="text-xs text-sky-700 hover:underline">
            ← Rollouts
          </Link>
          <h1 className="mt-1 text-lg font-semibold">New rollout</h1>
        </div>
        <LaunchWizard initialFirmwareId={typeof firmware === "string" ? firmware : undefined} approvalOverDevices={config.rolloutApprovalOverDevices} />
      </div>
    </HydrateClient>
  );
}
