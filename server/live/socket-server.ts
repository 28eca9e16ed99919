// The socket.io server of a web node. Each socket is authenticated with the
// same session rules as tRPC (server/auth/session.ts) and re-checked every
// minute, so a revoked session or a disabled user loses the live feed too.
import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { createAdapter } from "@socket.io/postgres-adapter";
import { decode } from "next-auth/jwt";
import type pg from "pg";
import { config } from "@/server/config.ts";
import { resolveSessionUser, type SessionClaims, type SessionUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { canJoinRoom, FLEET_ROOM, parseRoom } from "./rooms.ts";
import { LIVE_ATTACHMENTS_TABLE, LIVE_CHANNEL_PREFIX } from "./publish.ts";

const SESSION_COOKIES = ["__Secure-next-auth.session-token", "next-auth.session-token"];
const RECHECK_MS = 60_000;

type SocketData = { user: SessionUser; claims: SessionClaims };
type LiveSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>;

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** next-auth splits large tokens into name.0, name.1, …; ours are small but read both forms. */
function sessionToken(cookieHeader: string | undefined): string | undefined {
  for (const name of SESSION_COOKIES) {
    const whole = readCookie(cookieHeader, name);
    if (whole) return whole;
    const chunks: string[] = [];
    for (let i = 0; ; i++) {
      const chunk = readCookie(cookieHeader, `${name}.${i}`);
      if (chunk === undefined) break;
      chunks.push(chunk);
    }
    if (chunks.length > 0) return chunks.join("");
  }
  return undefined;
}

export async function authenticateCookie(cookieHeader: string | undefined) {
  const token = sessionToken(cookieHeader);
  const secret = config.authSecret;
  if (!token || !secret) return null;
  const claims = (await decode({ token, secret }).catch(() => null)) as SessionClaims | null;
  const user = await resolveSessionUser(claims);
  return user && claims ? { user, claims } : null;
}

export function attachLiveServer(httpServer: HttpServer, pool: pg.Pool) {
  const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>(httpServer, {
    path: "/socket.io",
    serveClient: false,
    // Next.js owns every other upgrade request (e.g. its dev server's).
    destroyUpgrade: false,
  });
  io.adapter(createAdapter(pool, { channelPrefix: LIVE_CHANNEL_PREFIX, tableName: LIVE_ATTACHMENTS_TABLE }));

  io.use((socket, next) => {
    authenticateCookie(socket.request.headers.cookie)
      .then((auth) => {
        if (!auth) return next(new Error("unauthorized"));
        socket.data.user = auth.user;
        socket.data.claims = auth.claims;
        next();
      })
      .catch((err: Error) => next(new Error(`unavailable: ${err.message}`)));
  });

  io.on("connection", (socket: LiveSocket) => {
    if (can(socket.data.user.role, "fleet:read")) void socket.join(FLEET_ROOM);
    const raw = socket as unknown as Socket;
    raw.on("subscribe", (name: unknown, ack?: (r: { ok: boolean; error?: string }) => void) => {
      const room = parseRoom(name);
      if (!room) return ack?.({ ok: false, error: "unknown room" });
      if (!canJoinRoom(socket.data.user.role, room)) return ack?.({ ok: false, error: "forbidden" });
      void socket.join(String(name));
      ack?.({ ok: true });
    });
    raw.on("unsubscribe", (name: unknown) => {
      if (typeof name === "string" && name !== FLEET_ROOM) void socket.leave(name);
    });
  });

  const recheck = setInterval(() => {
    void (async () => {
      for (const socket of await io.local.fetchSockets()) {
        const user = await resolveSessionUser(socket.data.claims).catch(() => socket.data.user);
        if (!user) socket.disconnect(true);
        else socket.data.user = user;
      }
    })();
  }, RECHECK_MS);
  recheck.unref();

  return {
    io,
    async close() {
      clearInterval(recheck);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
