// Brings a database up to prisma/migrations. Every process runs this as it
// starts (web and worker may start together, several of each), so the work is
// serialised by a PostgreSQL advisory lock: the first one in applies, the
// others wait, then find nothing left to apply.
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { applyMigrations } from "./schema-engine.ts";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../prisma/migrations");

// Distinct from the key the schema engine itself may lock (72707369): holding
// the engine's key here would make the engine wait on this very session.
const MIGRATE_LOCK_KEY = 0x466c7776; // "Flwv"

export type MigrateOptions = {
  migrationsDir?: string;
  /** How long to wait for another process's migration before giving up. */
  lockTimeoutMs?: number;
};

export type MigrateResult = { applied: string[] };

async function acquireLock(client: pg.Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [MIGRATE_LOCK_KEY]);
    if (rows[0]?.locked) return;
    if (Date.now() >= deadline) {
      throw new Error(`another process has been migrating this database for over ${Math.round(timeoutMs / 1000)}s; giving up`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Applies the migrations the database has not seen yet and returns their
 * names (empty when it was up to date). Safe to call on every start.
 */
export async function migrate(databaseUrl = process.env.DATABASE_URL, options: MigrateOptions = {}): Promise<MigrateResult> {
  if (!databaseUrl) throw new Error("DATABASE_URL is not set");
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  // The lock lives on its own session for the whole run: session-level, so it
  // is released if this process dies mid-way and the connection drops.
  const lockSession = new pg.Client({ connectionString: databaseUrl, application_name: "fleetwave-migrate" });
  await lockSession.connect();
  lockSession.on("error", () => {
    // A dropped lock session surfaces through the next query or the engine.
  });
  try {
    await acquireLock(lockSession, options.lockTimeoutMs ?? 5 * 60_000);
    try {
      return await applyMigrations(databaseUrl, migrationsDir);
    } finally {
      await lockSession.query("SELECT pg_advisory_unlock($1)", [MIGRATE_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await lockSession.end().catch(() => undefined);
  }
}
