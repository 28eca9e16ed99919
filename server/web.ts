// The web process: Next.js (App Router, tRPC, next-auth) and socket.io on one
// HTTP server and port.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import next from "next";
import { config } from "@/server/config.ts";
import { getPool } from "@/server/db/client.ts";
import { CLIENT_IP_HEADER } from "@/server/auth/client-ip.ts";
import { attachLiveServer } from "@/server/live/socket-server.ts";

const DOWNLOAD_PATH = /^\/api\/firmware\/([^/?]+)\/download(?:\?|$)/;

/**
 * Firmware downloads bypass Next.js: its route handlers drop Content-Length
 * (the body arrives chunked), and device OTA clients size their update
 * partition from it. Same handler as app/api/firmware/[id]/download.
 */
async function serveDownload(req: IncomingMessage, res: ServerResponse, firmwareId: string) {
  const { firmwareDownloadResponse } = await import("@/server/firmware/download.ts");
  const url = new URL(req.url ?? "/", "http://localhost");
  const response = await firmwareDownloadResponse(decodeURIComponent(firmwareId), url.searchParams, Date.now() / 1000);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (req.method === "HEAD" || !response.body) {
    await response.body?.cancel();
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), res);
}

export type WebHandle = { url: string; stop(): Promise<void> };

export async function startWeb(options: { dev: boolean; dir: string }): Promise<WebHandle> {
  const app = next({ dev: options.dev, dir: options.dir, hostname: config.host, port: config.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const upgrade = app.getUpgradeHandler();

  const server = createServer((req, res) => {
    // The client address as this server saw it; any value a client sent is replaced.
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "";
    const download = (req.method === "GET" || req.method === "HEAD") && DOWNLOAD_PATH.exec(req.url ?? "");
    if (download) {
      serveDownload(req, res, download[1]!).catch((err: Error) => {
        console.error("[web] firmware download failed:", err.message);
        if (!res.headersSent) res.writeHead(500).end("Internal error");
        else res.destroy();
      });
      return;
    }
    handle(req, res).catch((err: Error) => {
      console.error("[web] request failed:", err);
      if (!res.headersSent) res.writeHead(500).end("Internal error");
    });
  });
  const live = attachLiveServer(server, getPool());
  if (options.dev) {
    server.on("upgrade", (req, socket, head) => {
      if (!req.url?.startsWith("/socket.io")) void upgrade(req, socket, head);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://localhost:${port}`;

  return {
    url,
    async stop() {
      // Stop accepting, let in-flight requests finish, then close sockets.
      server.closeIdleConnections();
      await live.close();
      await app.close?.();
    },
  };
}
