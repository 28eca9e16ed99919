"use client";
import { signIn } from "next-auth/react";
import { useEffect, useState, type FormEvent } from "react";

export function SignInForm({ callbackUrl, initialError, oidcName }: { callbackUrl: string; initialError: string | null; oidcName: string | null }) {
  const [error, setError] = useState<string | null>(initialError);
  const [pending, setPending] = useState(false);
  // Until the page is interactive a submit would be a plain form post; keep the button off till then.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const result = await signIn("credentials", {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      redirect: false,
    }).catch(() => null);
    if (result?.ok && !result.error) {
      window.location.assign(callbackUrl);
      return;
    }
    setPending(false);
    setError(result?.error && result.error !== "CredentialsSignin" ? result.error : "Sign-in failed. Check your connection and try again.");
  }

  return (
    <form method="post" aria-labelledby="signin-title" onSubmit={onSubmit} className="mt-4 flex flex-col gap-3" noValidate>
      <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
        Email
        <input name="email" type="email" autoComplete="username" required className="rounded border border-slate-300 px-2 py-1.5 text-sm" />
      </label>
      <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
        Password
        <input name="password" type="password" autoComplete="current-password" required className="rounded border border-slate-300 px-2 py-1.5 text-sm" />
      </label>
      {error ? (
        <p role="alert" className="rounded border border-red-200 bg-red-50 px-2 py-1.5 text-sm text-red-800">
          {error}
        </p>
      ) : null}
      <button type="submit" disabled={pending || !ready} className="rounded bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
        {pending ? "Signing in…" : "Sign in"}
      </button>
      {oidcName ? (
        <button type="button" onClick={() => void signIn("oidc", { callbackUrl })} className="rounded border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50">
          Sign in with {oidcName}
        </button>
      ) : null}
    </form>
  );
}
