import { router, createCallerFactory } from "./init.ts";
import { devicesRouter } from "@/server/devices/router.ts";
import { usersRouter } from "@/server/users/router.ts";
import { auditRouter } from "@/server/audit/router.ts";
import { shadowRouter } from "@/server/shadow/router.ts";
import { firmwareRouter } from "@/server/firmware/router.ts";
import { rolloutsRouter } from "@/server/rollouts/router.ts";

export const appRouter = router({
  devices: devicesRouter,
  users: usersRouter,
  audit: auditRouter,
  shadow: shadowRouter,
  firmware: firmwareRouter,
  rollouts: rolloutsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
