// The web process: Next.js (App Router, tRPC, next-auth) and socket.io on one
// HTTP server and port.
import { createServer } from "node:http";
import next from "next";
import { config } from "@/server/config.ts";
import { getPool } from "@/server/db/client.ts";
import { CLIENT_IP_HEADER } from "@/server/auth/client-ip.ts";
import { attachLiveServer } from "@/server/live/socket-server.ts";

export type WebHandle = { url: string; stop(): Promise<void> };

export async function startWeb(options: { dev: boolean; dir: string }): Promise<WebHandle> {
  const app = next({ dev: options.dev, dir: options.dir, hostname: config.host, port: config.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const upgrade = app.getUpgradeHandler();

  const server = createServer((req, res) => {
    // The client address as this server saw it; any value a client sent is replaced.
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "";
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
