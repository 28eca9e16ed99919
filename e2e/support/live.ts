// Proving live push on pages that also poll. The rollout pages refetch every
// few seconds while a rollout runs, in case a live event is lost; a test that
// passed through that polling would pass with live push broken. TanStack
// Query's refetchInterval does not fire while the document is hidden, whereas
// the refetches live events cause do: a page that reports itself hidden changes
// only by live push (or by its own user's actions).
import { expect, type Page } from "@playwright/test";

/** Call before the page's first navigation; holds for every later one. */
export async function withoutPolling(page: Page): Promise<void> {
  await page.addInitScript(() => {
    Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => true });
  });
}

/** Marks the current document; `expectNoReload` fails if the page was reloaded or left since. */
export async function markDocument(page: Page, marker: string): Promise<void> {
  await page.evaluate((value) => Object.assign(window, { e2eMarker: value }), marker);
}

export async function expectNoReload(page: Page, marker: string): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { e2eMarker?: string }).e2eMarker), "the page was reloaded").toBe(marker);
}
