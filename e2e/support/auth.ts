// Signing in through next-auth's HTTP API, the way its own client does, so
// tests that are not about signing in skip the form.
import { expect, type APIRequestContext } from "@playwright/test";

/**
 * `request` must be a page's or context's `request` (page.request), so that
 * the session cookie lands in the browser context that will use it.
 */
export async function signInThroughApi(request: APIRequestContext, credentials: { email: string; password: string }): Promise<void> {
  const csrf = await request.get("/api/auth/csrf");
  expect(csrf.ok(), `GET /api/auth/csrf answered ${csrf.status()}`).toBe(true);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };

  const response = await request.post("/api/auth/callback/credentials", {
    form: { csrfToken, email: credentials.email, password: credentials.password, json: "true" },
    maxRedirects: 0,
  });
  expect(response.status(), `sign-in of ${credentials.email} answered ${response.status()}`).toBe(200);
  // next-auth answers 200 either way; a failure is an `error` parameter on the URL it returns.
  const { url } = (await response.json()) as { url: string };
  const error = new URL(url).searchParams.get("error");
  expect(error, `sign-in of ${credentials.email} failed`).toBeNull();

  const cookies = (await request.storageState()).cookies;
  expect(cookies.some((c) => c.name.endsWith("next-auth.session-token")), "no session cookie after sign-in").toBe(true);
}
