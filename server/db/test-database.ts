// Fresh, migrated PostgreSQL databases for integration tests: each test file
// gets its own database on the real server, so tests never see each other's
// rows and can run against a machine that also runs the product.
//
//   const db = await createTestDatabase();
//   afterAll(() => db.drop());
//
// The admin connection (TEST_DATABASE_ADMIN_URL, else DATABASE_URL, else the
// local server) must be allowed to create databases.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate } from "./migrate.ts";

export type TestDatabase = {
  /** Connection string of the new database, same credentials as the admin URL. */
  url: string;
  name: string;
  /**
   * A pool on the database that `drop()` closes. pg-pool resolves `end()`
   * before its clients have finished disconnecting, so a forced drop can
   * still terminate one of them; such pools swallow that termination
   * instead of raising it as an uncaught error.
   */
  pool(max?: number): pg.Pool;
  /** Drops the database, closing whatever connections are still open on it. Safe to call twice. */
  drop(): Promise<void>;
};

// SQLSTATE 57P01: terminated by an administrator (here: DROP DATABASE ... WITH (FORCE)).
const ADMIN_SHUTDOWN = "57P01";

const PREFIX = "fw_test_";
// Databases a crashed run left behind are swept once they are this old.
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

export function testAdminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL ?? process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

function urlFor(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: "fleetwave-test-database" });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `cannot reach PostgreSQL at ${redacted(adminUrl)} to create a test database (set TEST_DATABASE_ADMIN_URL): ${(err as Error).message}`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  // Only ever names this helper made: a typo elsewhere must not drop real data.
  if (!name.startsWith(PREFIX)) throw new Error(`refusing to drop ${name}: not a test database`);
  await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

async function sweepStale(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'fw\\_test\\_%'");
  for (const { datname } of rows) {
    // Only names in exactly this helper's format: others' test databases are not ours to judge.
    const stamp = /^fw_test_([0-9a-z]{8,9})_[0-9a-f]{10}$/.exec(datname)?.[1];
    const createdAt = stamp === undefined ? NaN : parseInt(stamp, 36);
    if (createdAt > Date.UTC(2024, 0, 1) && Date.now() - createdAt > STALE_AFTER_MS) {
      await dropDatabase(client, datname).catch(() => undefined);
    }
  }
}

/**
 * Creates an empty database with a unique name and, unless `migrate: false`,
 * applies every migration to it.
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = testAdminUrl();
  // The creation time in the name is what lets a later run sweep leftovers.
  const name = `${PREFIX}${Date.now().toString(36)}_${randomBytes(5).toString("hex")}`;
  await withAdmin(adminUrl, async (client) => {
    await sweepStale(client);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  });
  const url = urlFor(adminUrl, name);
  const pools: pg.Pool[] = [];
  let dropped = false;
  const pool = (max = 3) => {
    const created = new pg.Pool({ connectionString: url, max });
    created.on("error", (err: Error & { code?: string }) => {
      if (!dropped || err.code !== ADMIN_SHUTDOWN) console.error(`test database ${name}: idle client error`, err);
    });
    pools.push(created);
    return created;
  };
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await Promise.all(pools.map((p) => (p.ended ? undefined : p.end().catch(() => undefined))));
    await withAdmin(adminUrl, (client) => dropDatabase(client, name));
  };
  if (options.migrate !== false) {
    try {
      await migrate(url);
    } catch (err) {
      await drop().catch(() => undefined);
      throw err;
    }
  }
  return { url, name, pool, drop };
}
