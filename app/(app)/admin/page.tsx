import type { Metadata } from "next";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { Forbidden } from "@/components/states.tsx";
import { getQueryClient, HydrateClient, trpc } from "@/app/_trpc/server.tsx";
import { ImportPanel } from "./import-panel.tsx";
import { UsersPanel } from "./users-panel.tsx";

export const metadata: Metadata = { title: "Admin" };

export default async function AdminPage() {
  const user = await getCurrentUser();
  if (!user || !(can(user.role, "device:manage") || can(user.role, "user:manage"))) return <Forbidden what="the admin pages" />;
  if (can(user.role, "user:manage")) await getQueryClient().prefetchQuery(trpc.users.list.queryOptions());
  return (
    <HydrateClient>
      <div className="flex flex-col gap-6">
        <h1 className="text-lg font-semibold">Admin</h1>
        {can(user.role, "device:manage") ? <ImportPanel /> : null}
        {can(user.role, "user:manage") ? <UsersPanel currentUserId={user.id} /> : null}
      </div>
    </HydrateClient>
  );
}
