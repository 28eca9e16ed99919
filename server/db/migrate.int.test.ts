import { createHash } from "node:crypto";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";
import { MIGRATIONS_DIR, migrate } from "./migrate.ts";
import { markMigrationRolledBack } from "./schema-engine.ts";
import { partitionForDay } from "./timeseries.ts";
import { createTestDatabase, testAdminUrl, type TestDatabase } from "./test-database.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrate: false });
  cleanups.push(db.drop);
  return db;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function migrationNames(dir = MIGRATIONS_DIR): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

describe("migrate", () => {
  it("creates the schema on an empty database, then has nothing left to apply", async () => {
    const db = await freshDatabase();
    const expected = await migrationNames();
    expect(expected.slice(0, 2)).toEqual(["0001_init", "0002_shadow_events"]);

    expect(await migrate(db.url)).toEqual({ applied: expected });

    const tables = await query<{ relname: string; relkind: string }>(
      db.url,
      `SELECT relname, relkind::text FROM pg_class
       WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')`,
    );
    const kinds = Object.fromEntries(tables.map((t) => [t.relname, t.relkind]));
    for (const table of ["users", "login_attempts", "devices", "device_shadows", "audit_events", "shadow_events_1m"]) {
      expect(kinds[table], table).toBe("r");
    }
    expect(kinds.shadow_events).toBe("p");
    expect(kinds.shadow_events_default).toBe("r");
    expect(kinds[partitionForDay(new Date()).name]).toBe("r");

    expect(await migrate(db.url)).toEqual({ applied: [] });

    const recorded = await query<{ migration_name: string; checksum: string; finished: boolean; rolled_back: boolean; steps: number }>(
      db.url,
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back,
              applied_steps_count AS steps
       FROM _prisma_migrations ORDER BY migration_name`,
    );
    expect(recorded.map((r) => r.migration_name)).toEqual(expected);
    for (const row of recorded) {
      // `prisma migrate deploy` stores the SHA-256 of the file: the native CLI accepts this history as its own.
      const sql = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, "migration.sql"));
      expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(row).toMatchObject({ finished: true, rolled_back: false, steps: 1 });
    }
  });

  it("matches the generated Prisma client", async () => {
    const db = await freshDatabase();
    await migrate(db.url);
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
    try {
      await prisma.device.create({
        data: { id: "dev-1", type: "thermostat", hardwareVersion: "r2", region: "eu", firmwareVersion: "1.0.0", shadow: { create: {} } },
      });
      const device = await prisma.device.findUniqueOrThrow({ where: { id: "dev-1" }, include: { shadow: true } });
      expect(device.tags).toEqual([]);
      expect(device.shadow?.version).toBe(0);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("lets processes that start together migrate once", async () => {
    const db = await freshDatabase();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(await migrationNames());
    expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
  });

  it("creates today's partition by UTC whatever the session time zone", async () => {
    const db = await freshDatabase();
    // UTC+14: a local date that is a day ahead of UTC for half of every day.
    await query(db.url, `ALTER DATABASE ${pg.escapeIdentifier(db.name)} SET timezone = 'Pacific/Kiritimati'`);
    await migrate(db.url);
    const dayStart = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const today = partitionForDay(new Date(dayStart));
    const routed = await query<{ partition: string }>(
      db.url,
      `INSERT INTO shadow_events (device_id, server_time, kind, outcome)
       VALUES ('d', $1, 'update', 'accepted'), ('d', $2, 'update', 'accepted')
       RETURNING tableoid::regclass::text AS partition`,
      [new Date(dayStart).toISOString(), new Date(dayStart + 86_400_000 - 1).toISOString()],
    );
    expect(routed.map((r) => r.partition)).toEqual([today.name, today.name]);
  });

  it("rolls a failing migration back whole and refuses to go on until it is resolved", async () => {
    const db = await freshDatabase();
    const dir = await mkdtemp(path.join(os.tmpdir(), "fw-migrations-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await cp(path.join(MIGRATIONS_DIR, "0001_init"), path.join(dir, "9999_broken"), { recursive: true });
    await writeFile(path.join(dir, "9999_broken", "migration.sql"), "CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n");

    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(/division by zero/);

    const [half] = await query<{ exists: boolean }>(db.url, "SELECT to_regclass('half_done') IS NOT NULL AS exists");
    expect(half?.exists).toBe(false);
    const rows = await query<{ migration_name: string; finished: boolean }>(
      db.url,
      "SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name",
    );
    expect(rows.at(-1)).toEqual({ migration_name: "9999_broken", finished: false });
    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(/9999_broken/);

    await markMigrationRolledBack(db.url, "9999_broken");
    await writeFile(path.join(dir, "9999_broken", "migration.sql"), "CREATE TABLE half_done (id int);\n");
    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: ["9999_broken"] });
  });

  it("drops test databases even with connections still open", async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    client.on("error", () => undefined);
    await db.drop();
    await db.drop();
    const [row] = await query<{ exists: boolean }>(
      testAdminUrl(),
      "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
      [db.name],
    );
    expect(row?.exists).toBe(false);
    await client.end().catch(() => undefined);
  });
});
