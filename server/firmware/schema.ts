import { z } from "zod";
import { compareVersions, isVersion } from "@/server/rollouts/version-rules.ts";

// The same characters a device's type and hardware version may have in a manifest (server/devices/rules.ts).
const NAME_PATTERN = /^[A-Za-z0-9_.:/ -]{1,64}$/;
export const MAX_RELEASE_NOTES = 10_000;
export const MAX_COMPATIBLE_HARDWARE = 100;

const versionSchema = z.string().trim().refine(isVersion, "Use a semantic version, e.g. 4.2.0.");

/** What an upload says about its image; the bytes, file name and signature travel beside it. */
export const firmwareMetadataSchema = z
  .object({
    version: versionSchema,
    deviceType: z.string().trim().regex(NAME_PATTERN, "Enter the device type: 1–64 letters, digits or _.:/ -"),
    compatibleHardware: z
      .array(z.string().trim().regex(NAME_PATTERN, "Each hardware version is 1–64 letters, digits or _.:/ -"))
      .max(MAX_COMPATIBLE_HARDWARE, `List at most ${MAX_COMPATIBLE_HARDWARE} hardware versions.`)
      .default([])
      .transform((list) => [...new Set(list)]),
    minVersion: versionSchema.optional(),
    releaseNotes: z.string().max(MAX_RELEASE_NOTES, `Keep release notes under ${MAX_RELEASE_NOTES.toLocaleString("en-US")} characters.`).default(""),
  })
  .superRefine((value, ctx) => {
    if (value.minVersion !== undefined && isVersion(value.version) && compareVersions(value.minVersion, value.version) >= 0) {
      ctx.addIssue({ code: "custom", path: ["minVersion"], message: `The minimum version must be below ${value.version}.` });
    }
  });

export type FirmwareMetadataInput = z.input<typeof firmwareMetadataSchema>;
export type FirmwareMetadata = z.output<typeof firmwareMetadataSchema>;

export const firmwareSchema = z.object({
  id: z.string(),
  version: z.string(),
  deviceType: z.string(),
  compatibleHardware: z.array(z.string()),
  minVersion: z.string().nullable(),
  releaseNotes: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  fileName: z.string(),
  signatureKeyId: z.string().nullable(),
  uploadedBy: z.string(),
  createdAt: z.date(),
});

export const firmwareListInput = z.object({
  page: z.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.number().int().min(10).max(200).default(50),
  deviceType: z.string().trim().max(64).optional(),
});

export const firmwareListOutput = z.object({
  items: z.array(firmwareSchema),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  /** Every device type with firmware, for the filter. */
  deviceTypes: z.array(z.object({ value: z.string(), count: z.number().int() })),
});

export const firmwareIdInput = z.object({ id: z.string().uuid() });

export type Firmware = z.infer<typeof firmwareSchema>;
export type FirmwareListInput = z.infer<typeof firmwareListInput>;
export type FirmwareList = z.infer<typeof firmwareListOutput>;
