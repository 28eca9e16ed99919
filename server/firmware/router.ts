import { router, permissionProcedure } from "@/server/trpc/init.ts";
import { getFirmware, listFirmware } from "./data.ts";
import { firmwareIdInput, firmwareListInput, firmwareListOutput, firmwareSchema } from "./schema.ts";

// Uploads arrive as multipart at app/api/firmware/route.ts: image bytes do not travel through tRPC.
export const firmwareRouter = router({
  list: permissionProcedure("fleet:read").input(firmwareListInput).output(firmwareListOutput).query(({ input }) => listFirmware(input)),

  get: permissionProcedure("fleet:read").input(firmwareIdInput).output(firmwareSchema).query(({ input }) => getFirmware(input.id)),
});
