import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { config } from "@/server/config.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { firmwareInputFromParams } from "./params.ts";
import { FirmwareView } from "./firmware-view.tsx";

export const metadata: Metadata = { title: "Firmware" };

export default async function FirmwarePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "fleet:read")) return <Forbidden what="the firmware registry" />;
  await getQueryClient().prefetchQuery(trpc.firmware.list.queryOptions(firmwareInputFromParams(await searchParams)));
  const upload = can(user.role, "firmware:upload") ? { maxMb: config.firmwareMaxMb, requireSignature: config.firmwareRequireSignature } : null;
  return (
    <HydrateClient>
      <FirmwareView upload={upload} />
    </HydrateClient>
  );
}
