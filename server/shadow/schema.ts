// Device message payloads (PROTOCOL.md, "Device to platform").
import { z } from "zod";

export const MAX_PAYLOAD_BYTES = 8 * 1024;

const unixTime = z.number().finite().nonnegative();
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const shadowUpdateSchema = z.object({
  seq,
  version: z.number().int().min(1).max(2_147_483_647),
  deviceTime: unixTime,
  clientToken: z.string().max(64).optional(),
  ntpSyncedAt: unixTime.optional(),
  timezone: z.string().max(64).optional(),
  state: z.object({ reported: z.record(z.string(), z.unknown()) }).strict(),
});

export const shadowGetSchema = z.object({ clientToken: z.string().max(64).optional() }).passthrough();

export const syncRequestSchema = z.object({
  seq,
  currentVersion: z.number().int().min(0),
  deviceTime: unixTime,
  ntpSyncedAt: unixTime.optional(),
  timezone: z.string().max(64).optional(),
});

export const syncCompleteSchema = z.object({ seq, version: z.number().int().min(0) });

export const statusSchema = z.object({ online: z.boolean() });

export type ShadowUpdate = z.infer<typeof shadowUpdateSchema>;
export type SyncRequest = z.infer<typeof syncRequestSchema>;
export type SyncComplete = z.infer<typeof syncCompleteSchema>;

/** A short, specific reason from a zod error, e.g. `seq: expected an integer ≥ 1`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "payload"}: ${i.message}`)
    .join("; ");
}
