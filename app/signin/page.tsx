import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getCurrentUser } from "@/server/auth/session.ts";
import { config } from "@/server/config.ts";
import { SignInForm } from "./signin-form.tsx";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

const ERRORS: Record<string, string> = {
  AccessDenied: "Your account is not allowed to sign in.",
  OidcNoEmail: "Your identity provider did not share an email address.",
  SessionRequired: "Sign in to continue.",
};

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const params = await searchParams;
  if (await getCurrentUser()) redirect(safeCallback(params.callbackUrl));
  const oidc = config.oidc;
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <p className="text-xs font-semibold uppercase tracking-widest text-sky-700">Fleetwave</p>
        <h1 id="signin-title" className="mt-1 text-xl font-semibold">Sign in</h1>
        <SignInForm
          callbackUrl={safeCallback(params.callbackUrl)}
          initialError={params.error ? (ERRORS[params.error] ?? "Sign-in failed. Try again.") : null}
          oidcName={oidc?.name ?? null}
        />
      </div>
    </main>
  );
}

/** Only same-site paths: an open redirect after sign-in would be a phishing aid. */
function safeCallback(raw: string | undefined): string {
  if (!raw) return "/fleet";
  try {
    const url = new URL(raw, "http://local");
    return url.origin === "http://local" && url.pathname.startsWith("/") && !url.pathname.startsWith("//") ? `${url.pathname}${url.search}` : "/fleet";
  } catch {
    return "/fleet";
  }
}
