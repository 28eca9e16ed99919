import { z } from "zod";

export const ONLINE_FILTERS = ["any", "online", "offline"] as const;
export const DEVICE_SORTS = ["id", "type", "region", "firmwareVersion", "lastSeenAt"] as const;

export const deviceFilterSchema = z.object({
  type: z.string().max(64).optional(),
  region: z.string().max(64).optional(),
  firmwareVersion: z.string().max(64).optional(),
  online: z.enum(ONLINE_FILTERS).default("any"),
  /** Device id substring. */
  search: z.string().trim().max(64).optional(),
});

export const deviceListInput = deviceFilterSchema.extend({
  page: z.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.number().int().min(10).max(200).default(50),
  sort: z.enum(DEVICE_SORTS).default("id"),
  direction: z.enum(["asc", "desc"]).default("asc"),
});

export const deviceRowSchema = z.object({
  id: z.string(),
  type: z.string(),
  hardwareVersion: z.string(),
  region: z.string(),
  firmwareVersion: z.string(),
  tags: z.array(z.string()),
  revoked: z.boolean(),
  online: z.boolean(),
  lastSeenAt: z.date().nullable(),
  shadowVersion: z.number().int(),
});

export const deviceListOutput = z.object({
  items: z.array(deviceRowSchema),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});

const countSchema = z.object({ value: z.string(), count: z.number().int() });

export const fleetSummaryOutput = z.object({
  total: z.number().int(),
  online: z.number().int(),
  revoked: z.number().int(),
  byFirmware: z.array(countSchema),
});

export const deviceFacetsOutput = z.object({
  types: z.array(countSchema),
  regions: z.array(countSchema),
  firmwareVersions: z.array(countSchema),
});

/** A manifest as text: the admin page reads the file in the browser and sends its content. */
export const importManifestInput = z.object({
  fileName: z.string().max(255).optional(),
  csv: z.string().min(1, "The file is empty.").max(20 * 1024 * 1024, "The file is larger than 20 MiB; split it."),
});

export const importResultSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  errors: z.array(z.object({ line: z.number().int(), reason: z.string() })),
});

export type DeviceFilter = z.infer<typeof deviceFilterSchema>;
export type DeviceListInput = z.infer<typeof deviceListInput>;
export type DeviceRow = z.infer<typeof deviceRowSchema>;
export type ImportResult = z.infer<typeof importResultSchema>;
