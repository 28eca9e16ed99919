import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { AuditView } from "./audit-view.tsx";

export const metadata: Metadata = { title: "Audit" };

export default async function AuditPage() {
  const user = await getCurrentUser();
  if (!user || !can(user.role, "audit:read")) return <Forbidden what="the audit history" />;
  await getQueryClient().prefetchQuery(trpc.audit.list.queryOptions({ page: 1, pageSize: 50 }));
  return (
    <HydrateClient>
      <AuditView />
    </HydrateClient>
  );
}
