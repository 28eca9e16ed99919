"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "next-auth/react";
import { ConnectionIndicator } from "@/components/connection-indicator.tsx";
import { Badge } from "@/components/badge.tsx";
import { useLive } from "@/app/_live/live-provider.tsx";

export function AppHeader({ user, links }: { user: { name: string; email: string; role: string }; links: Array<{ href: string; label: string }> }) {
  const pathname = usePathname();
  const { state } = useLive();
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex h-11 max-w-[1600px] items-center gap-6 px-4">
        <Link href="/fleet" className="text-sm font-semibold tracking-tight text-sky-800">
          Fleetwave
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1">
          {links.map((link) => {
            const active = pathname.startsWith(link.href);
            return (
              <Link
                key={link.href}
                href={link.href}
                aria-current={active ? "page" : undefined}
                className={`rounded px-2 py-1 text-sm ${active ? "bg-slate-100 font-medium text-slate-900" : "text-slate-600 hover:text-slate-900"}`}
              >
                {link.label}
              </Link>
            );
          })}
        </nav>
        <div className="ml-auto flex items-center gap-4">
          <ConnectionIndicator state={state} />
          <span role="group" className="flex items-center gap-2 text-xs text-slate-600" aria-label={`Signed in as ${user.email}, role ${user.role}`}>
            {user.email}
            <Badge tone="info">{user.role}</Badge>
          </span>
          <button type="button" onClick={() => void signOut({ callbackUrl: "/signin" })} className="text-xs font-medium text-slate-600 hover:text-slate-900">
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
