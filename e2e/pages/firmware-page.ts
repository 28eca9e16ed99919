// The firmware registry (/firmware): the upload form (engineers and admins
// only) and the list of images with their SHA-256.
import { expect, type Locator, type Page } from "@playwright/test";
import type { FirmwareImage } from "../support/firmware.ts";
import { waitForHydration } from "../support/hydration.ts";

export type FirmwareUpload = { image: FirmwareImage; version: string; deviceType: string; compatibleHardware?: string };

export class FirmwarePage {
  readonly heading: Locator;
  /** The toggle that opens the form; the form's own submit button has the same name but no expanded state. */
  readonly openUploadButton: Locator;
  readonly uploadForm: Locator;
  readonly file: Locator;
  readonly version: Locator;
  readonly deviceType: Locator;
  readonly compatibleHardware: Locator;
  readonly submit: Locator;
  /** "Uploaded … (SHA-256 …)" after a successful upload. */
  readonly uploaded: Locator;
  /** Why the upload was refused, for the whole form. */
  readonly refusal: Locator;
  readonly table: Locator;
  /** Data rows only: the header row holds column headers, not cells. */
  readonly rows: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Firmware", exact: true });
    this.openUploadButton = page.getByRole("button", { name: "Upload firmware", expanded: false });
    this.uploadForm = page.getByRole("form", { name: "Upload firmware" });
    this.file = this.uploadForm.getByLabel("Image file");
    this.version = this.uploadForm.getByRole("textbox", { name: "Version", exact: true });
    // A text input with a datalist of known types: a combobox.
    this.deviceType = this.uploadForm.getByRole("combobox", { name: "Device type", exact: true });
    this.compatibleHardware = this.uploadForm.getByRole("textbox", { name: "Compatible hardware (optional)" });
    this.submit = this.uploadForm.getByRole("button", { name: "Upload firmware" });
    this.uploaded = this.uploadForm.getByRole("status");
    this.refusal = this.uploadForm.getByRole("alert");
    this.table = page.getByRole("table", { name: "Firmware" });
    this.rows = this.table.getByRole("row").filter({ has: page.getByRole("cell") });
  }

  /** `type` filters the list to one device type, as ?type= does. */
  async goto(query: { type?: string } = {}): Promise<void> {
    await this.page.goto(query.type ? `/firmware?type=${encodeURIComponent(query.type)}` : "/firmware");
    await expect(this.heading).toBeVisible();
    await waitForHydration(this.page.getByRole("region", { name: "Filters" }).getByRole("combobox", { name: "Type" }));
  }

  async openUploadForm(): Promise<void> {
    await this.openUploadButton.click();
    await expect(this.uploadForm).toBeVisible();
  }

  /** Fills the form, submits it and waits for the server's answer (accepted or refused). */
  async upload(upload: FirmwareUpload): Promise<void> {
    await this.file.setInputFiles({ name: upload.image.name, mimeType: "application/octet-stream", buffer: upload.image.bytes });
    await this.version.fill(upload.version);
    await this.deviceType.fill(upload.deviceType);
    await this.compatibleHardware.fill(upload.compatibleHardware ?? "");
    const answered = this.page.waitForResponse((r) => new URL(r.url()).pathname === "/api/firmware" && r.request().method() === "POST");
    await this.submit.click();
    await answered;
  }

  row(version: string): Locator {
    return this.rows.filter({ has: this.page.getByRole("cell", { name: version, exact: true }) });
  }

  /** The SHA-256 shown for an image: the start of the hash, with the whole hash as its title. */
  sha256Of(version: string, sha256: string): Locator {
    return this.row(version).getByTitle(sha256, { exact: true });
  }
}
