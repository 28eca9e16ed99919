import { z } from "zod";
import { prisma } from "@/server/db/client.ts";
import { Prisma } from "@/server/db/generated/client.ts";
import { config } from "@/server/config.ts";
import { AppError } from "@/server/errors.ts";
import { recordAudit, type Actor } from "@/server/audit/mutations.ts";
import { findFirmwareByVersion, firmwareView } from "./data.ts";
import { firmwareFileName } from "./rules.ts";
import { firmwareMetadataSchema, type Firmware, type FirmwareMetadataInput } from "./schema.ts";
import { signingKeysOrThrow, verifyImageSignature } from "./signature.ts";
import { firmwareStore, type FirmwareStore } from "./store.ts";

export type FirmwareUpload = FirmwareMetadataInput & {
  bytes: Uint8Array;
  fileName: string;
  /** Detached Ed25519 signature over the bytes: 64 raw bytes or their base64. */
  signature?: string | Uint8Array | null;
};

type FieldErrors = Record<string, string[]>;

function addError(errors: FieldErrors, field: string, message: string) {
  (errors[field] ??= []).push(message);
}

function duplicateError(existing: Firmware): AppError {
  return new AppError(
    "CONFLICT",
    `Firmware ${existing.version} for ${existing.deviceType} already exists (id ${existing.id}, uploaded ${existing.createdAt.toISOString()} by ${existing.uploadedBy}).`,
    { version: [`${existing.version} is already uploaded for ${existing.deviceType}.`] },
  );
}

/** Decides which configured key vouches for the image, or why the upload is refused. */
function signatureKeyOf(upload: FirmwareUpload): string | null {
  const given = upload.signature === undefined || upload.signature === null || upload.signature.length === 0 ? null : upload.signature;
  if (given === null) {
    if (config.firmwareRequireSignature) {
      throw new AppError("INVALID", "This platform accepts only signed firmware.", { signature: ["A signature is required: attach the image's Ed25519 signature."] });
    }
    return null;
  }
  const check = verifyImageSignature(upload.bytes, given, signingKeysOrThrow(config.firmwareSigningKeys));
  if (!check.ok) throw new AppError("INVALID", "The signature was not accepted.", { signature: [check.message] });
  return check.keyId;
}

/**
 * Registers a firmware image: validates it, checks its signature against the
 * configured keys, stores the bytes and records the row and its audit event
 * in one transaction. The bytes are stored first; should the transaction
 * fail, they stay as an unreferenced file that a retry reuses.
 */
export async function uploadFirmware(upload: FirmwareUpload, actor: Actor, store: FirmwareStore = firmwareStore()): Promise<Firmware> {
  const errors: FieldErrors = {};
  const parsed = firmwareMetadataSchema.safeParse({
    version: upload.version,
    deviceType: upload.deviceType,
    compatibleHardware: upload.compatibleHardware,
    minVersion: upload.minVersion,
    releaseNotes: upload.releaseNotes,
  });
  if (!parsed.success) {
    for (const [field, messages] of Object.entries(z.flattenError(parsed.error).fieldErrors)) {
      for (const message of (messages as string[] | undefined) ?? []) addError(errors, field, message);
    }
  }
  const maxBytes = config.firmwareMaxMb * 1024 * 1024;
  if (upload.bytes.length === 0) addError(errors, "file", "The file is empty.");
  else if (upload.bytes.length > maxBytes) addError(errors, "file", `The file is larger than ${config.firmwareMaxMb} MB.`);
  if (!parsed.success || Object.keys(errors).length > 0) {
    throw new AppError("INVALID", "The firmware was not uploaded: check the highlighted fields.", errors);
  }
  const metadata = parsed.data;

  const existing = await findFirmwareByVersion(metadata.deviceType, metadata.version);
  if (existing) throw duplicateError(existing);

  const signatureKeyId = signatureKeyOf(upload);
  const stored = await store.put(upload.bytes);
  const fileName = firmwareFileName(upload.fileName);

  try {
    return await prisma.$transaction(async (tx) => {
      const row = await tx.firmware.create({
        data: {
          version: metadata.version,
          deviceType: metadata.deviceType,
          compatibleHardware: metadata.compatibleHardware,
          minVersion: metadata.minVersion ?? null,
          releaseNotes: metadata.releaseNotes,
          sha256: stored.sha256,
          size: stored.size,
          fileName,
          signatureKeyId,
          uploadedById: actor.type === "user" ? actor.id : null,
          uploadedByLabel: actor.label,
        },
      });
      await recordAudit(tx, {
        actor,
        action: "firmware.upload",
        target: { type: "firmware", id: row.id },
        data: { version: row.version, deviceType: row.deviceType, sha256: row.sha256, size: row.size, signatureKeyId, fileName },
      });
      return firmwareView(row);
    });
  } catch (err) {
    // Two uploads of the same version at once: the unique index decides, the loser hears who won.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") {
      const winner = await findFirmwareByVersion(metadata.deviceType, metadata.version);
      if (winner) throw duplicateError(winner);
    }
    throw err;
  }
}
