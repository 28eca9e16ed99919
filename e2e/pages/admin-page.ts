// The admin page (/admin): the device manifest import and the users table.
import { expect, type Locator, type Page } from "@playwright/test";
import { waitForHydration } from "../support/hydration.ts";

export class AdminPage {
  readonly heading: Locator;
  readonly manifestFile: Locator;
  readonly importButton: Locator;
  readonly importResult: Locator;
  readonly rejectedRows: Locator;
  readonly users: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Admin", exact: true });
    this.manifestFile = page.getByLabel("Manifest file");
    this.importButton = page.getByRole("button", { name: "Import devices" });
    this.importResult = page.getByRole("status", { name: "Import result" });
    this.rejectedRows = this.importResult.getByRole("table", { name: "Rejected rows" });
    this.users = page.getByRole("table", { name: "Users" });
  }

  async goto(): Promise<void> {
    await this.page.goto("/admin");
    await expect(this.heading).toBeVisible();
    await waitForHydration(this.importButton);
  }

  /** Uploads the CSV text as a file, submits, and waits for the result. */
  async importManifest(csvText: string, fileName = "manifest.csv"): Promise<void> {
    await this.manifestFile.setInputFiles({ name: fileName, mimeType: "text/csv", buffer: Buffer.from(csvText, "utf8") });
    await this.importButton.click();
    await expect(this.importResult).toBeVisible({ timeout: 30_000 });
  }

  /** The reason shown for a rejected manifest line. */
  rejectionReason(line: number): Locator {
    const row = this.rejectedRows.getByRole("row").filter({ has: this.page.getByRole("cell", { name: String(line), exact: true }) });
    return row.getByRole("cell").nth(1);
  }

  /** Ends every session of the user; waits for the server to confirm, since the page shows no confirmation. */
  async signOutEverywhere(email: string): Promise<void> {
    const done = this.page.waitForResponse((r) => r.url().includes("users.revokeSessions") && r.request().method() === "POST");
    await this.users.getByRole("button", { name: `Sign out ${email} everywhere` }).click();
    const response = await done;
    expect(response.status(), "users.revokeSessions failed").toBe(200);
  }
}
