// Where firmware images live. Content-addressed: an image is kept under its
// SHA-256, so storing the same bytes twice (a retried upload) is harmless and
// a database row can never point at different bytes than it recorded. The
// interface is the seam for an object store (S3, GCS) in a multi-node setup.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { config } from "@/server/config.ts";

export type StoredImage = { sha256: string; size: number };

export interface FirmwareStore {
  /** Stores the bytes under their SHA-256 (a no-op when already stored) and answers the digest and size. */
  put(bytes: Uint8Array): Promise<StoredImage>;
  /** The stored image's size, or null when nothing is stored under this digest. */
  stat(sha256: string): Promise<{ size: number } | null>;
  /** The stored image's bytes as a stream; rejects when nothing is stored under this digest. */
  open(sha256: string): Promise<ReadableStream<Uint8Array>>;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Images in a local folder (FIRMWARE_DIR): `<dir>/sha256/ab/abcdef…`. */
export function localDirectoryStore(dir: string): FirmwareStore {
  const fileOf = (sha256: string) => {
    // The digest becomes a path: anything but 64 hex digits could walk out of the folder.
    if (!SHA256_PATTERN.test(sha256)) throw new Error(`not a SHA-256 digest: "${sha256}"`);
    return path.join(dir, "sha256", sha256.slice(0, 2), sha256);
  };

  async function sizeOf(sha256: string): Promise<number | null> {
    try {
      return (await stat(fileOf(sha256))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  return {
    async put(bytes) {
      const sha256 = sha256Hex(bytes);
      if ((await sizeOf(sha256)) === bytes.length) return { sha256, size: bytes.length };
      const target = fileOf(sha256);
      await mkdir(path.dirname(target), { recursive: true });
      // Written beside the target and renamed over it: readers see the whole image or none.
      const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        const handle = await open(temp, "wx", 0o644);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return { sha256, size: bytes.length };
    },

    async stat(sha256) {
      const size = await sizeOf(sha256);
      return size === null ? null : { size };
    },

    async open(sha256) {
      // Opened before answering, so a missing image rejects here instead of failing mid-response.
      const handle = await open(fileOf(sha256), "r");
      return Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
    },
  };
}

/** The configured store. */
export function firmwareStore(): FirmwareStore {
  return localDirectoryStore(config.firmwareDir);
}
