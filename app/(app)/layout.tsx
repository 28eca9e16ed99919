import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { TRPCReactProvider } from "@/app/_trpc/client.tsx";
import { LiveProvider } from "@/app/_live/live-provider.tsx";
import { AppHeader } from "./app-header.tsx";

export const dynamic = "force-dynamic";

export default async function AppLayout({ children }: { children: ReactNode }) {
  const user = await getCurrentUser();
  if (!user) redirect("/signin");
  const links = [
    { href: "/fleet", label: "Fleet", show: can(user.role, "fleet:read") },
    { href: "/rollouts", label: "Rollouts", show: can(user.role, "fleet:read") },
    { href: "/firmware", label: "Firmware", show: can(user.role, "fleet:read") },
    { href: "/audit", label: "Audit", show: can(user.role, "audit:read") },
    { href: "/admin", label: "Admin", show: can(user.role, "device:manage") || can(user.role, "user:manage") },
  ].filter((l) => l.show);
  return (
    <TRPCReactProvider>
      <LiveProvider>
        <AppHeader user={{ name: user.name, email: user.email, role: user.role }} links={links} />
        <main className="mx-auto max-w-[1600px] px-4 py-4">{children}</main>
      </LiveProvider>
    </TRPCReactProvider>
  );
}
