import { expect, type Locator } from "@playwright/test";

/**
 * Waits until React has hydrated the element. Server-rendered controls are
 * visible and clickable before their handlers are attached; a form submitted
 * or a select changed in that gap goes to the browser's default behaviour
 * (the sign-in form would GET /signin?email=…&password=…) instead of the app.
 */
export async function waitForHydration(element: Locator): Promise<void> {
  await expect
    .poll(() => element.evaluate((el) => Object.keys(el).some((key) => key.startsWith("__reactProps$"))), {
      message: "the page did not hydrate",
    })
    .toBe(true);
}
