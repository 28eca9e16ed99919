// The PostgreSQL server tests create their databases on: the one named by
// TEST_DATABASE_ADMIN_URL or DATABASE_URL, else an embedded server started for
// the run (a fresh machine with nothing running still runs the whole suite).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export async function ensureTestPostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const configured = process.env.TEST_DATABASE_ADMIN_URL ?? process.env.DATABASE_URL;
  if (configured) return { adminUrl: configured, stop: async () => undefined };
  const { startEmbeddedPostgres } = await import("./embedded-postgres.ts");
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fleetwave-test-pg-"));
  const server = await startEmbeddedPostgres({ dataDir });
  const admin = new URL(server.url);
  admin.pathname = "/postgres";
  process.env.TEST_DATABASE_ADMIN_URL = admin.toString();
  return {
    adminUrl: admin.toString(),
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
