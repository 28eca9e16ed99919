import { z } from "zod";
import { router, permissionProcedure } from "@/server/trpc/init.ts";
import { publishLive } from "@/server/live/publish.ts";
import { FLEET_ROOM } from "@/server/live/rooms.ts";
import { deviceFacets, fleetSummary, listDevices } from "./data.ts";
import { importDevices } from "./mutations.ts";
import { parseManifest } from "./rules.ts";
import {
  deviceFacetsOutput,
  deviceFilterSchema,
  deviceListInput,
  deviceListOutput,
  fleetSummaryOutput,
  importManifestInput,
  importResultSchema,
} from "./schema.ts";

export const devicesRouter = router({
  list: permissionProcedure("fleet:read").input(deviceListInput).output(deviceListOutput).query(({ input }) => listDevices(input)),

  summary: permissionProcedure("fleet:read")
    .input(deviceFilterSchema.default({ online: "any" }))
    .output(fleetSummaryOutput)
    .query(({ input }) => fleetSummary(input)),

  facets: permissionProcedure("fleet:read").input(z.void()).output(deviceFacetsOutput).query(() => deviceFacets()),

  import: permissionProcedure("device:manage")
    .input(importManifestInput)
    .output(importResultSchema)
    .mutation(async ({ ctx, input }) => {
      const { rows, errors } = parseManifest(input.csv);
      if (rows.length === 0) return { created: 0, updated: 0, unchanged: 0, errors };
      const result = await importDevices(rows, errors, { type: "user", id: ctx.user.id, label: ctx.user.email }, { fileName: input.fileName });
      if (result.created + result.updated > 0) {
        publishLive(FLEET_ROOM, "devices.changed", { reason: "import", count: result.created + result.updated });
      }
      return result;
    }),
});
