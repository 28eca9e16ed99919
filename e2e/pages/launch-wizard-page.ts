// The launch wizard (/rollouts/new): firmware, strategy, approval, the plan
// preview, and the launch that opens the rollout's page.
import { expect, type Locator, type Page } from "@playwright/test";
import { waitForHydration } from "../support/hydration.ts";

const ROLLOUT_URL = /\/rollouts\/([0-9a-f-]{36})$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export class LaunchWizardPage {
  readonly heading: Locator;
  readonly form: Locator;
  readonly firmware: Locator;
  readonly name: Locator;
  readonly numberOfWaves: Locator;
  readonly waveSizes: Locator;
  readonly rate: Locator;
  readonly requireApproval: Locator;
  readonly previewButton: Locator;
  readonly launchButton: Locator;
  readonly preview: Locator;
  readonly plannedWaves: Locator;
  readonly skippedByReason: Locator;
  /** Why the launch was refused, for the whole form. */
  readonly refusal: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "New rollout", exact: true });
    this.form = page.getByRole("form", { name: "Launch rollout" });
    this.firmware = this.form.getByRole("combobox", { name: "Firmware", exact: true });
    this.name = this.form.getByRole("textbox", { name: "Name", exact: true });
    this.numberOfWaves = this.form.getByRole("spinbutton", { name: "Number of waves" });
    this.waveSizes = this.form.getByRole("textbox", { name: "Wave sizes" });
    this.rate = this.form.getByRole("spinbutton", { name: "Rate (devices/s)" });
    this.requireApproval = this.form.getByRole("checkbox", { name: "Require approval" });
    this.previewButton = this.form.getByRole("button", { name: "Preview", exact: true });
    this.launchButton = this.form.getByRole("button", { name: "Launch rollout", exact: true });
    this.preview = page.getByRole("region", { name: "Plan preview" });
    this.plannedWaves = this.preview.getByRole("table", { name: "Planned waves" });
    this.skippedByReason = this.preview.getByRole("list", { name: "Skipped devices by reason" });
    this.refusal = this.form.getByRole("alert");
  }

  async goto(): Promise<void> {
    await this.page.goto("/rollouts/new");
    await this.ready();
  }

  /** For arriving by a link: waits until the form can be used. */
  async ready(): Promise<void> {
    await expect(this.heading).toBeVisible();
    await waitForHydration(this.launchButton);
  }

  /** Options read "VERSION — DEVICE TYPE". */
  async chooseFirmware(firmware: { version: string; deviceType: string }): Promise<void> {
    await this.firmware.selectOption({ label: `${firmware.version} — ${firmware.deviceType}` });
  }

  strategy(label: "Canary, staged, then the rest" | "Equal waves" | "Explicit wave sizes"): Locator {
    // The option's name continues with its hint.
    return this.form.getByRole("radiogroup", { name: "Wave strategy" }).getByRole("radio", { name: new RegExp(`^${escapeRegExp(label)}\\b`) });
  }

  async useEqualWaves(waves: number): Promise<void> {
    await this.strategy("Equal waves").check();
    await this.numberOfWaves.fill(String(waves));
  }

  async useExplicitSizes(sizes: string): Promise<void> {
    await this.strategy("Explicit wave sizes").check();
    await this.waveSizes.fill(sizes);
  }

  async previewPlan(): Promise<void> {
    await this.previewButton.click();
    await expect(this.plannedWaves.or(this.preview.getByRole("alert"))).toBeVisible();
  }

  /** A preview figure: "Targeted", "Eligible" or "Skipped". */
  figure(label: "Targeted" | "Eligible" | "Skipped"): Locator {
    const term = this.page.getByRole("term").filter({ hasText: new RegExp(`^${label}$`) });
    return this.preview.locator("dl > div").filter({ has: term }).getByRole("definition");
  }

  /** The planned size of wave `n` (counted from 1, as on the page). */
  waveSize(n: number): Locator {
    const header = this.page.getByRole("rowheader", { name: `Wave ${n}`, exact: true });
    return this.plannedWaves.getByRole("row").filter({ has: header }).getByRole("cell").first();
  }

  /** The count beside a skip reason, e.g. "Incompatible hardware". */
  skippedCount(reason: string): Locator {
    return this.skippedByReason.getByRole("listitem").filter({ hasText: reason }).locator("span").last();
  }

  /** Launches and waits for the rollout's page; returns the rollout's id. */
  async launch(): Promise<string> {
    await this.launchButton.click();
    await expect(this.page).toHaveURL(ROLLOUT_URL, { timeout: 20_000 });
    return ROLLOUT_URL.exec(new URL(this.page.url()).pathname)![1]!;
  }
}
