// The procedure ladder: public → authed → permission. Every procedure that
// reaches the client sits on one of these rungs; server/trpc/access.int.test.ts
// checks every procedure against every role.
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import { AppError, type AppErrorCode } from "@/server/errors.ts";
import { can, type Permission } from "@/server/auth/permissions.ts";
import type { Context } from "./context.ts";

const TRPC_CODE: Record<AppErrorCode, TRPCError["code"]> = {
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  INVALID: "BAD_REQUEST",
  FORBIDDEN: "FORBIDDEN",
  PRECONDITION_FAILED: "PRECONDITION_FAILED",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
};

export type ProcedureMeta = { permission?: Permission };

const t = initTRPC.context<Context>().meta<ProcedureMeta>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    if (internal) console.error("[trpc] internal error:", error);
    return {
      ...shape,
      // Never show a server fault's own text to the browser.
      message: internal ? "Something went wrong on the server. Try again; if it persists, check the server log." : shape.message,
      data: {
        ...shape.data,
        stack: undefined,
        fieldErrors:
          cause instanceof ZodError
            ? cause.flatten().fieldErrors
            : cause instanceof AppError
              ? (cause.fieldErrors ?? null)
              : null,
      },
    };
  },
});

const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: TRPC_CODE[cause.code], message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure.use(mapDomainErrors);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue." });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

/** The role was read from the database for this request (server/auth/session.ts), never from the cookie. */
export function permissionProcedure(permission: Permission) {
  return authedProcedure.meta({ permission }).use(({ ctx, next }) => {
    if (!can(ctx.user.role, permission)) {
      throw new TRPCError({ code: "FORBIDDEN", message: `Your role (${ctx.user.role}) may not do this: it needs "${permission}".` });
    }
    return next();
  });
}
