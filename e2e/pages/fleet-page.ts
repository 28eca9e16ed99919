// The fleet page (/fleet): summary, firmware counts, filters, the device
// table and its pagination. Everything is found by role and accessible name.
import { expect, type Locator, type Page } from "@playwright/test";
import { waitForHydration } from "../support/hydration.ts";

export type Connection = "online" | "offline" | "any";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export class FleetPage {
  readonly heading: Locator;
  readonly summary: Locator;
  readonly firmwareList: Locator;
  readonly search: Locator;
  readonly typeFilter: Locator;
  readonly regionFilter: Locator;
  readonly firmwareFilter: Locator;
  readonly connectionFilter: Locator;
  readonly table: Locator;
  /** Data rows only: the header row holds column headers, not cells. */
  readonly rows: Locator;
  readonly noDevices: Locator;
  readonly pagination: Locator;
  readonly liveStatus: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Fleet", exact: true });
    this.summary = page.getByRole("region", { name: "Fleet summary" });
    this.firmwareList = page.getByRole("list", { name: "Firmware versions" });
    this.search = page.getByRole("searchbox", { name: "Search device id" });
    const filters = page.getByRole("region", { name: "Filters" });
    this.typeFilter = filters.getByRole("combobox", { name: "Type", exact: true });
    this.regionFilter = filters.getByRole("combobox", { name: "Region", exact: true });
    this.firmwareFilter = filters.getByRole("combobox", { name: "Firmware", exact: true });
    this.connectionFilter = filters.getByRole("combobox", { name: "Connection", exact: true });
    this.table = page.getByRole("table", { name: "Devices" });
    this.rows = this.table.getByRole("row").filter({ has: page.getByRole("cell") });
    this.noDevices = page.getByText("No devices match", { exact: true });
    this.pagination = page.getByRole("navigation", { name: "Pagination" });
    this.liveStatus = page.getByRole("status", { name: /^Live updates:/ });
  }

  async goto(query: Record<string, string> = {}): Promise<void> {
    const qs = new URLSearchParams(query).toString();
    await this.page.goto(qs ? `/fleet?${qs}` : "/fleet");
    await expect(this.heading).toBeVisible();
    await waitForHydration(this.typeFilter);
  }

  filterByType(type: string) {
    return this.typeFilter.selectOption(type);
  }

  filterByRegion(region: string) {
    return this.regionFilter.selectOption(region);
  }

  filterByFirmware(version: string) {
    return this.firmwareFilter.selectOption(version);
  }

  filterByConnection(connection: Connection) {
    return this.connectionFilter.selectOption(connection === "any" ? "" : connection);
  }

  async searchFor(text: string): Promise<void> {
    await this.search.fill(text);
  }

  nextPage() {
    return this.pagination.getByRole("button", { name: "Next page" }).click();
  }

  /** The pagination's range text, e.g. "1–50 of 120 devices". */
  async expectRange(first: number, last: number, total: number): Promise<void> {
    await expect(this.pagination).toContainText(`${first}–${last} of ${total.toLocaleString("en-US")} devices`);
  }

  row(deviceId: string): Locator {
    return this.rows.filter({ has: this.page.getByRole("cell", { name: deviceId, exact: true }) });
  }

  /** The value of a summary figure: "Devices", "Devices (filtered)", "Online", "Offline", "Revoked". */
  stat(label: string): Locator {
    const term = this.page.getByRole("term").filter({ hasText: new RegExp(`^${escapeRegExp(label)}$`) });
    return this.summary.locator("div").filter({ has: term }).getByRole("definition");
  }

  /** The count shown beside a version in the firmware list. */
  firmwareCount(version: string): Locator {
    return this.firmwareList
      .getByRole("listitem")
      .filter({ has: this.page.getByRole("button", { name: `Filter firmware ${version}`, exact: true }) });
  }

  filterFromFirmwareList(version: string) {
    return this.firmwareList.getByRole("button", { name: `Filter firmware ${version}`, exact: true }).click();
  }
}
