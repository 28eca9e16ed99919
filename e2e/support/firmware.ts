// Firmware images for tests: random bytes whose SHA-256 the test computes
// itself, and an upload through the product's HTTP API for tests that need an
// image in the registry but are not about uploading it.
import { createHash, randomBytes } from "node:crypto";
import { expect, type APIRequestContext } from "@playwright/test";

export type FirmwareImage = { name: string; bytes: Buffer; sha256: string };

/** A small image that no other test (or run) produces, so its hash is unique too. */
export function firmwareImage(name = "firmware.bin", size = 4096): FirmwareImage {
  const bytes = randomBytes(size);
  return { name, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export type RegisteredFirmware = { id: string; version: string; deviceType: string; sha256: string; size: number };

/**
 * POST /api/firmware as the signed-in user of `request` (an engineer's
 * page.request); fails the test unless the registry accepted the image.
 */
export async function uploadFirmwareThroughApi(
  request: APIRequestContext,
  upload: { version: string; deviceType: string; compatibleHardware?: string[]; image?: FirmwareImage },
): Promise<RegisteredFirmware> {
  const image = upload.image ?? firmwareImage();
  const response = await request.post("/api/firmware", {
    multipart: {
      file: { name: image.name, mimeType: "application/octet-stream", buffer: image.bytes },
      version: upload.version,
      deviceType: upload.deviceType,
      compatibleHardware: (upload.compatibleHardware ?? []).join(","),
    },
  });
  expect(response.status(), `uploading ${upload.deviceType} ${upload.version}: ${await response.text()}`).toBe(201);
  const firmware = (await response.json()) as RegisteredFirmware;
  expect(firmware.sha256).toBe(image.sha256);
  return firmware;
}
