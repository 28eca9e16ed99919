// One rollout's page (/rollouts/[id]): its state, the waves, the actions
// (pause, approve, …) and their outcome. It updates live; tests that prove
// that open it with e2e/support/live.ts's `withoutPolling`.
import { expect, type Locator, type Page } from "@playwright/test";
import { waitForHydration } from "../support/hydration.ts";

/** A rollout's state as the page says it: "running", "awaiting approval", "paused", … */
export type RolloutStateWords = "awaiting approval" | "running" | "paused" | "completed" | "aborted";

export class RolloutPage {
  readonly backLink: Locator;
  readonly anyState: Locator;
  readonly actions: Locator;
  readonly pauseReason: Locator;
  readonly pauseButton: Locator;
  readonly approveButton: Locator;
  /** The banner of a paused rollout, with the reason. */
  readonly pausedBanner: Locator;
  /** The banner of a rollout that waits for an approval. */
  readonly approvalBanner: Locator;
  /** What went wrong with the last action. */
  readonly actionError: Locator;
  readonly gate: Locator;
  readonly settings: Locator;
  readonly liveStatus: Locator;

  constructor(readonly page: Page) {
    this.backLink = page.getByRole("link", { name: "← Rollouts", exact: true });
    this.anyState = page.getByRole("status", { name: /^Rollout state: / });
    this.actions = page.getByRole("group", { name: "Rollout actions" });
    this.pauseReason = this.actions.getByRole("textbox", { name: "Pause reason (optional)" });
    this.pauseButton = this.actions.getByRole("button", { name: "Pause rollout", exact: true });
    this.approveButton = this.actions.getByRole("button", { name: "Approve rollout", exact: true });
    this.pausedBanner = page.getByRole("region", { name: "Paused", exact: true });
    this.approvalBanner = page.getByRole("region", { name: "Approval", exact: true });
    // Inside <main>: Next.js's route announcer is an alert too.
    this.actionError = page.getByRole("main").getByRole("alert");
    this.gate = page.getByRole("region", { name: "Gate", exact: true });
    this.settings = page.getByRole("complementary", { name: "Rollout settings" });
    this.liveStatus = page.getByRole("status", { name: /^Live updates:/ });
  }

  async goto(id: string): Promise<void> {
    await this.page.goto(`/rollouts/${id}`);
    await expect(this.anyState).toBeVisible();
    await waitForHydration(this.backLink);
  }

  /** The state badge; visible only while the rollout is in that state. */
  state(words: RolloutStateWords): Locator {
    return this.page.getByRole("status", { name: `Rollout state: ${words}`, exact: true });
  }

  /** Wave `n`'s card (counted from 1, as on the page). */
  wave(n: number): Locator {
    return this.page.getByRole("region", { name: `Wave ${n}`, exact: true });
  }

  /** Wave `n`'s bar, named with its counts: "Wave 1 progress: 3 succeeded". */
  waveProgress(n: number): Locator {
    return this.wave(n).getByRole("img", { name: new RegExp(`^Wave ${n} progress:`) });
  }

  /** The confirmation an action leaves, e.g. "Rollout paused." */
  notice(text: string): Locator {
    return this.page.getByRole("main").getByRole("status").filter({ hasText: text });
  }

  async pause(reason: string): Promise<void> {
    await this.pauseReason.fill(reason);
    await this.pauseButton.click();
    await expect(this.notice("Rollout paused.")).toBeVisible();
  }
}
