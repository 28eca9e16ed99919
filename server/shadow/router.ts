import { z } from "zod";
import { router, permissionProcedure } from "@/server/trpc/init.ts";
import { getPool } from "@/server/db/client.ts";
import { AppError } from "@/server/errors.ts";
import { DEVICE_ID_PATTERN } from "@/server/devices/rules.ts";
import { listDeviceEvents, listOpenFindings, loadShadows } from "./data.ts";
import { computeDelta } from "./document-rules.ts";
import { isPotentiallyOffline } from "./presence-rules.ts";


const deviceIdInput = z.object({ deviceId: z.string().regex(DEVICE_ID_PATTERN, "Not a device id.") });
const json = z.record(z.string(), z.unknown());

const shadowOutput = z.object({
  device: z.object({ id: z.string(), type: z.string(), region: z.string(), firmwareVersion: z.string(), revoked: z.boolean() }),
  shadow: z.object({ version: z.number().int(), lastSeq: z.number().nullable(), desired: json, reported: json, delta: json, metadata: json }),
  presence: z.object({
    online: z.boolean(),
    lastSeenAt: z.date().nullable(),
    potentiallyOffline: z.boolean(),
    deviceClockAt: z.date().nullable(),
    clockSkewSec: z.number().nullable(),
  }),
  findings: z.array(z.object({ kind: z.string(), severity: z.string(), title: z.string(), detail: z.unknown(), count: z.number().int(), firstSeenAt: z.date(), lastSeenAt: z.date() })),
});

const eventOutput = z.object({
  serverTime: z.date(),
  deviceTime: z.date().nullable(),
  kind: z.string(),
  outcome: z.string(),
  code: z.string().nullable(),
  seq: z.number().nullable(),
  version: z.number().nullable(),
  acceptedVersion: z.number().nullable(),
  clockSkewSec: z.number().nullable(),
  payload: z.unknown(),
});

export const shadowRouter = router({
  get: permissionProcedure("fleet:read")
    .input(deviceIdInput)
    .output(shadowOutput)
    .query(async ({ input }) => {
      const pool = getPool();
      const stored = (await loadShadows(pool, [input.deviceId])).get(input.deviceId);
      if (!stored) throw new AppError("NOT_FOUND", `No device "${input.deviceId}" is registered.`);
      const { state, presence, device } = stored;
      return {
        device: { id: input.deviceId, type: device.type, region: device.region, firmwareVersion: device.firmwareVersion, revoked: device.revoked },
        shadow: {
          version: state.version,
          lastSeq: state.lastSeq,
          desired: state.desired,
          reported: state.reported,
          delta: computeDelta(state.desired, state.reported),
          metadata: state.metadata,
        },
        presence: { ...presence, potentiallyOffline: isPotentiallyOffline(presence.online, presence.lastSeenAt) },
        findings: await listOpenFindings(pool, input.deviceId),
      };
    }),

  events: permissionProcedure("fleet:read")
    .input(deviceIdInput.extend({
      before: z.date().optional(),
      limit: z.number().int().min(1).max(200).default(50),
      outcome: z.enum(["accepted", "duplicate", "rejected", "info"]).optional(),
    }))
    .output(z.object({ items: z.array(eventOutput), nextBefore: z.date().nullable() }))
    .query(async ({ input }) => {
      const items = await listDeviceEvents(getPool(), input.deviceId, input);
      return { items, nextBefore: items.length === input.limit ? items[items.length - 1]!.serverTime : null };
    }),
});
