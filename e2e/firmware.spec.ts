// The firmware registry page: an engineer uploads an image and finds it with
// its SHA-256; a bad version and a duplicate are refused with their reasons;
// an operator gets no upload form at all. Every test lists only its own
// device type (?type=), so other tests' images never count.
import { expect, test } from "./fixtures.ts";
import { FirmwarePage } from "./pages/firmware-page.ts";
import { firmwareImage } from "./support/firmware.ts";

test("an engineer uploads an image and sees it in the list with its SHA-256", async ({ page, signInAs, token }) => {
  const deviceType = `fw-${token}`;
  const image = firmwareImage("gateway-4.2.0.bin", 6144);
  const engineer = await signInAs("engineer");
  const firmware = new FirmwarePage(page);
  await firmware.goto({ type: deviceType });
  await expect(page.getByText("No firmware for this type")).toBeVisible();

  await firmware.openUploadForm();
  await firmware.upload({ image, version: "4.2.0", deviceType, compatibleHardware: "rev-a, rev-b" });

  await expect(firmware.uploaded).toHaveText(`Uploaded ${deviceType} 4.2.0 (SHA-256 ${image.sha256.slice(0, 12)}…, unsigned).`);
  await expect(firmware.refusal).toHaveCount(0);
  await expect(firmware.rows).toHaveCount(1);
  const row = firmware.row("4.2.0");
  await expect(row.getByRole("cell").nth(1)).toHaveText(deviceType);
  await expect(row.getByRole("cell").nth(2)).toHaveText("rev-a, rev-b");
  await expect(row.getByRole("cell").nth(4)).toHaveText("6.0 KB");
  await expect(firmware.sha256Of("4.2.0", image.sha256)).toHaveText(`${image.sha256.slice(0, 12)}…`);
  await expect(row.getByRole("cell").nth(6)).toHaveText("Unsigned");
  await expect(row.getByRole("cell").nth(7)).toHaveText(engineer.email);

  // Registered, not just shown: it is still there on a fresh load.
  await firmware.goto({ type: deviceType });
  await expect(firmware.sha256Of("4.2.0", image.sha256)).toBeVisible();
});

test("a malformed version is refused with the error beside the field, and nothing is registered", async ({ page, signInAs, token }) => {
  const deviceType = `fw-bad-${token}`;
  await signInAs("engineer");
  const firmware = new FirmwarePage(page);
  await firmware.goto({ type: deviceType });
  await firmware.openUploadForm();
  await firmware.upload({ image: firmwareImage(), version: "4.2", deviceType });

  await expect(firmware.refusal).toHaveText("The firmware was not uploaded: check the highlighted fields.");
  await expect(firmware.version).toHaveAttribute("aria-invalid", "true");
  await expect(firmware.version).toHaveAccessibleDescription(/Use a semantic version, e\.g\. 4\.2\.0\.$/);
  await expect(firmware.deviceType).not.toHaveAttribute("aria-invalid", "true");
  await expect(firmware.uploaded).toHaveText("");
  // What was typed stays, to be corrected.
  await expect(firmware.version).toHaveValue("4.2");

  await firmware.goto({ type: deviceType });
  await expect(page.getByText("No firmware for this type")).toBeVisible();
});

test("a second upload of the same version for the same type is refused with the reason", async ({ page, signInAs, token }) => {
  const deviceType = `fw-dup-${token}`;
  const first = firmwareImage("first.bin");
  const engineer = await signInAs("engineer");
  const firmware = new FirmwarePage(page);
  await firmware.goto({ type: deviceType });
  await firmware.openUploadForm();
  await firmware.upload({ image: first, version: "1.4.0", deviceType });
  await expect(firmware.uploaded).toContainText(`Uploaded ${deviceType} 1.4.0`);

  await firmware.upload({ image: firmwareImage("second.bin"), version: "1.4.0", deviceType });

  await expect(firmware.refusal).toContainText(`Firmware 1.4.0 for ${deviceType} already exists`);
  await expect(firmware.refusal).toContainText(`by ${engineer.email}`);
  await expect(firmware.version).toHaveAttribute("aria-invalid", "true");
  await expect(firmware.version).toHaveAccessibleDescription(new RegExp(`1\\.4\\.0 is already uploaded for ${deviceType}\\.$`));
  await expect(firmware.uploaded).toHaveText("");
  // The first image is the one registered.
  await expect(firmware.rows).toHaveCount(1);
  await expect(firmware.sha256Of("1.4.0", first.sha256)).toBeVisible();
});

test("an operator sees the registry without an upload form, and the upload API refuses them", async ({ page, signInAs, token }) => {
  await signInAs("operator");
  const firmware = new FirmwarePage(page);
  await firmware.goto();

  await expect(firmware.table.or(page.getByText("No firmware yet"))).toBeVisible();
  await expect(page.getByRole("button", { name: "Upload firmware" })).toHaveCount(0);
  await expect(firmware.uploadForm).toHaveCount(0);
  await expect(page.getByLabel("Image file")).toHaveCount(0);

  const image = firmwareImage();
  const response = await page.request.post("/api/firmware", {
    multipart: { file: { name: image.name, mimeType: "application/octet-stream", buffer: image.bytes }, version: "1.0.0", deviceType: `fw-op-${token}` },
  });
  expect(response.status()).toBe(403);
  expect(((await response.json()) as { error: string }).error).toContain('it needs "firmware:upload"');
});
