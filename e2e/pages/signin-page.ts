// The sign-in form (/signin). Only the login tests use it; every other test
// signs in through the API (e2e/support/auth.ts).
import { expect, type Locator, type Page } from "@playwright/test";
import { waitForHydration } from "../support/hydration.ts";

export class SignInPage {
  readonly email: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.email = page.getByRole("textbox", { name: "Email" });
    this.password = page.getByLabel("Password");
    this.submit = page.getByRole("button", { name: "Sign in", exact: true });
    // Inside <main>: Next.js's route announcer is an (empty) alert too.
    this.error = page.getByRole("main").getByRole("alert");
  }

  async goto(): Promise<void> {
    await this.page.goto("/signin");
    await expect(this.page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await waitForHydration(this.submit);
  }

  /** Fills and submits the form, and waits until the server has answered the attempt. */
  async signIn(email: string, password: string): Promise<void> {
    await this.email.fill(email);
    await this.password.fill(password);
    const answered = this.page.waitForResponse((r) => r.url().includes("/api/auth/callback/credentials"));
    await this.submit.click();
    await answered;
  }
}
