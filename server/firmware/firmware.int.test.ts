// The firmware registry against the real database and a real folder: uploads
// (validation, duplicates, signatures, audit) and the signed download route.
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AppError } from "@/server/errors.ts";
import { useTestDatabase } from "@/server/db/vitest-database.ts";
import { downloadPath, signDownload } from "./rules.ts";

useTestDatabase();

const LINK_SECRET = "test-link-secret";
const firmwareDir = mkdtempSync(`${os.tmpdir()}/fleetwave-firmware-test-`);
const release = generateKeyPairSync("ed25519");
const releaseKey = release.publicKey.export({ format: "der", type: "spki" }).toString("base64");
const cli = { type: "cli" as const, id: "release-bot", label: "cli:release-bot" };

let seq = 0;
/** A distinct device type per test keeps tests independent in the shared database. */
function upload(overrides: Record<string, unknown> = {}) {
  seq += 1;
  return {
    bytes: randomBytes(4096 + seq),
    fileName: `gw-${seq}.bin`,
    version: "4.2.0",
    deviceType: `gw-${seq}`,
    compatibleHardware: ["rev-a", "rev-b"],
    minVersion: "4.0.0",
    releaseNotes: "Fixes the watchdog.",
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const { AppError } = await import("@/server/errors.ts");
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(() => {
  process.env.FIRMWARE_DIR = firmwareDir;
  process.env.FIRMWARE_LINK_SECRET = LINK_SECRET;
  process.env.PUBLIC_URL = "http://fleet.example.test:8080/";
});

beforeEach(() => {
  delete process.env.FIRMWARE_SIGNING_KEYS;
  delete process.env.FIRMWARE_REQUIRE_SIGNATURE;
  delete process.env.FIRMWARE_MAX_MB;
});

afterAll(() => {
  for (const name of ["FIRMWARE_DIR", "FIRMWARE_LINK_SECRET", "PUBLIC_URL", "FIRMWARE_SIGNING_KEYS", "FIRMWARE_REQUIRE_SIGNATURE", "FIRMWARE_MAX_MB"]) {
    delete process.env[name];
  }
  rmSync(firmwareDir, { recursive: true, force: true });
});

describe("firmware upload", () => {
  it("stores the image under its SHA-256, creates the row and audits it in the same transaction", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const { prisma } = await import("@/server/db/client.ts");
    const { firmwareStore } = await import("./store.ts");
    const user = await prisma.user.create({ data: { email: "engineer@example.test", name: "E", role: "engineer" } });
    const input = upload({ fileName: "/tmp/build/gw.bin" });

    const firmware = await uploadFirmware(input, { type: "user", id: user.id, label: user.email });

    const sha256 = createHash("sha256").update(input.bytes).digest("hex");
    expect(firmware).toMatchObject({
      version: "4.2.0",
      deviceType: input.deviceType,
      compatibleHardware: ["rev-a", "rev-b"],
      minVersion: "4.0.0",
      sha256,
      size: input.bytes.length,
      fileName: "gw.bin",
      signatureKeyId: null,
      uploadedBy: "engineer@example.test",
    });
    const row = await prisma.firmware.findUniqueOrThrow({ where: { id: firmware.id } });
    expect(row.uploadedById).toBe(user.id);
    expect(readFileSync(`${firmwareDir}/sha256/${sha256.slice(0, 2)}/${sha256}`)).toEqual(input.bytes);
    expect(await firmwareStore().stat(sha256)).toEqual({ size: input.bytes.length });

    const event = await prisma.auditEvent.findFirstOrThrow({ where: { action: "firmware.upload", targetId: firmware.id } });
    expect(event).toMatchObject({ actorType: "user", actorId: user.id, targetType: "firmware" });
    expect(event.data).toEqual({ version: "4.2.0", deviceType: input.deviceType, sha256, size: input.bytes.length, signatureKeyId: null, fileName: "gw.bin" });
  });

  it("refuses a second upload of the same version for the type, naming the first", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const { prisma } = await import("@/server/db/client.ts");
    const first = await uploadFirmware(upload(), cli);
    const err = await refusal(uploadFirmware(upload({ deviceType: first.deviceType }), cli));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain(first.id);
    expect(err.fieldErrors).toEqual({ version: [`4.2.0 is already uploaded for ${first.deviceType}.`] });
    // The same version for another type is a different image.
    await expect(uploadFirmware(upload({ version: "4.2.0" }), cli)).resolves.toMatchObject({ version: "4.2.0" });
    expect(await prisma.firmware.count({ where: { deviceType: first.deviceType } })).toBe(1);
  });

  it("lets exactly one of two simultaneous uploads of a version win", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const a = upload();
    const results = await Promise.allSettled([uploadFirmware(a, cli), uploadFirmware({ ...a, bytes: randomBytes(100) }, cli)]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
    expect((rejected.reason as AppError).code).toBe("CONFLICT");
  });

  it("reports malformed fields and an empty file together, keyed by field, and stores nothing", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const { prisma } = await import("@/server/db/client.ts");
    const input = upload({ bytes: new Uint8Array(0), version: "4.2", deviceType: "bad type!", minVersion: "5.0.0", releaseNotes: "x".repeat(10_001) });
    const err = await refusal(uploadFirmware(input, cli));
    expect(err.code).toBe("INVALID");
    expect(Object.keys(err.fieldErrors ?? {}).sort()).toEqual(["deviceType", "file", "releaseNotes", "version"]);
    expect(err.fieldErrors?.file).toEqual(["The file is empty."]);

    const belowErr = await refusal(uploadFirmware(upload({ minVersion: "4.2.0" }), cli));
    expect(belowErr.fieldErrors).toEqual({ minVersion: ["The minimum version must be below 4.2.0."] });
    expect(await prisma.firmware.count({ where: { deviceType: input.deviceType } })).toBe(0);
  });

  it("refuses an image over FIRMWARE_MAX_MB", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    process.env.FIRMWARE_MAX_MB = "0.001"; // 1,048 bytes
    const err = await refusal(uploadFirmware(upload({ bytes: randomBytes(2000) }), cli));
    expect(err).toMatchObject({ code: "INVALID", fieldErrors: { file: ["The file is larger than 0.001 MB."] } });
  });
});

describe("firmware signatures", () => {
  it("records the key that verified a signed image", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    process.env.FIRMWARE_SIGNING_KEYS = `old=${generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).toString("base64")},release-2026=${releaseKey}`;
    const input = upload();
    const firmware = await uploadFirmware({ ...input, signature: sign(null, input.bytes, release.privateKey).toString("base64") }, cli);
    expect(firmware.signatureKeyId).toBe("release-2026");
  });

  it("refuses a signature that does not verify, or one that cannot be checked", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const input = upload();
    const signature = sign(null, randomBytes(10), release.privateKey);
    const noKeys = await refusal(uploadFirmware({ ...input, signature }, cli));
    expect(noKeys).toMatchObject({ code: "INVALID", fieldErrors: { signature: [expect.stringMatching(/No signing keys are configured/)] } });

    process.env.FIRMWARE_SIGNING_KEYS = `release=${releaseKey}`;
    const wrong = await refusal(uploadFirmware({ ...input, signature }, cli));
    expect(wrong).toMatchObject({ code: "INVALID", fieldErrors: { signature: [expect.stringMatching(/does not verify against any configured key \(release\)/)] } });
    const garbled = await refusal(uploadFirmware({ ...input, signature: "bm90IGEgc2lnbmF0dXJl" }, cli));
    expect(garbled.fieldErrors?.signature?.[0]).toMatch(/64 bytes/);
  });

  it("refuses unsigned images when signatures are required", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    process.env.FIRMWARE_SIGNING_KEYS = `release=${releaseKey}`;
    process.env.FIRMWARE_REQUIRE_SIGNATURE = "1";
    const input = upload();
    const err = await refusal(uploadFirmware(input, cli));
    expect(err).toMatchObject({ code: "INVALID", fieldErrors: { signature: [expect.stringMatching(/signature is required/)] } });
    const signed = await uploadFirmware({ ...input, signature: sign(null, input.bytes, release.privateKey) }, cli);
    expect(signed.signatureKeyId).toBe("release");
  });
});

describe("firmware download route", () => {
  async function get(path: string) {
    const { GET } = await import("@/app/api/firmware/[id]/download/route.ts");
    const id = decodeURIComponent(new URL(path, "http://x").pathname.split("/")[3]!);
    return GET(new Request(`http://fleet.example.test:8080${path}`), { params: Promise.resolve({ id }) });
  }

  it("serves the exact image for a fresh link made by firmwareDownloadUrl", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const { firmwareDownloadUrl } = await import("./links.ts");
    const input = upload({ fileName: "gw 4.2.0.bin" });
    const firmware = await uploadFirmware(input, cli);
    const url = firmwareDownloadUrl(firmware.id, "dev-1", Date.now() / 1000);
    expect(url.startsWith(`http://fleet.example.test:8080/api/firmware/${firmware.id}/download?device=dev-1&`)).toBe(true);

    const response = await get(url.slice("http://fleet.example.test:8080".length));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    expect(response.headers.get("content-length")).toBe(String(input.bytes.length));
    expect(response.headers.get("etag")).toBe(`"${firmware.sha256}"`);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="gw 4.2.0.bin"; filename*=UTF-8''gw%204.2.0.bin`);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body).toEqual(Buffer.from(input.bytes));
    expect(createHash("sha256").update(body).digest("hex")).toBe(firmware.sha256);
  });

  it("answers 403 to tampered, malformed and expired links and 404 to unknown firmware", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const firmware = await uploadFirmware(upload(), cli);
    const now = Date.now() / 1000;
    const fresh = downloadPath(signDownload(LINK_SECRET, firmware.id, "dev-1", now));

    const tamperedDevice = await get(fresh.replace("device=dev-1", "device=dev-2"));
    expect(tamperedDevice.status).toBe(403);
    expect(await tamperedDevice.text()).toBe("This download link is not valid.");
    expect((await get(fresh.replace(/sig=[^&]+/, "sig=AAAA"))).status).toBe(403);
    expect((await get(downloadPath(signDownload("another-secret", firmware.id, "dev-1", now)))).status).toBe(403);
    expect((await get(`/api/firmware/${firmware.id}/download?device=dev-1`)).status).toBe(403);

    const expired = await get(downloadPath(signDownload(LINK_SECRET, firmware.id, "dev-1", now - 3601)));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toBe("This download link has expired.");

    // A link for one firmware does not open another.
    const other = await uploadFirmware(upload(), cli);
    expect((await get(fresh.replace(firmware.id, other.id))).status).toBe(403);

    const unknown = await get(downloadPath(signDownload(LINK_SECRET, randomUUID(), "dev-1", now)));
    expect(unknown.status).toBe(404);
    expect((await get(downloadPath(signDownload(LINK_SECRET, "not-a-uuid", "dev-1", now)))).status).toBe(404);
  });

  it("answers 500 without details when the row's image is missing from storage", async () => {
    const { uploadFirmware } = await import("./mutations.ts");
    const firmware = await uploadFirmware(upload(), cli);
    rmSync(`${firmwareDir}/sha256/${firmware.sha256.slice(0, 2)}/${firmware.sha256}`);
    const response = await get(downloadPath(signDownload(LINK_SECRET, firmware.id, "dev-1", Date.now() / 1000)));
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("The firmware image is not available right now.");
  });
});

describe("firmware store", () => {
  it("keeps one copy per content, so a repeated put is harmless", async () => {
    const { localDirectoryStore } = await import("./store.ts");
    const store = localDirectoryStore(`${firmwareDir}/store-test`);
    const bytes = randomBytes(1000);
    const first = await store.put(bytes);
    expect(await store.put(bytes)).toEqual(first);
    expect(Buffer.from(await new Response(await store.open(first.sha256)).arrayBuffer())).toEqual(bytes);
    expect(await store.stat("0".repeat(64))).toBeNull();
    await expect(store.open("0".repeat(64))).rejects.toThrow(/ENOENT/);
    await expect(store.stat("../../etc/passwd")).rejects.toThrow(/not a SHA-256 digest/);
  });
});
