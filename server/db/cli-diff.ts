// `npm run db:diff -- NAME`: writes the next migration for the changes made to
// prisma/schema.prisma since the last one.
//
// Why a snapshot: `prisma migrate dev` learns "the schema as of the last
// migration" by replaying every migration into a shadow database, which needs
// the native engine and the right to create databases. Instead, each time this
// command writes a migration it also copies the schema it diffed to into
// prisma/migrations/schema.snapshot.prisma, and the next run diffs from that
// copy. Commit the snapshot together with the migration. Hand-written
// migrations (like 0002_shadow_events) touch only tables Prisma does not model,
// so they never need to change the snapshot.
//
// The engine still opens a connection to learn the server version: it uses
// DATABASE_URL, else the local PostgreSQL; nothing is written to it.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { diffSchemas } from "./schema-engine.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const schemaPath = path.join(root, "prisma", "schema.prisma");
const migrationsDir = path.join(root, "prisma", "migrations");
const snapshotPath = path.join(migrationsDir, "schema.snapshot.prisma");

/** Prisma's own directory naming: UTC YYYYMMDDHHMMSS, then the name. */
function timestamp(now: Date): string {
  return now.toISOString().replace(/\D/g, "").slice(0, 14);
}

function migrationName(raw: string | undefined): string | null {
  const name = (raw ?? "")
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return name === "" ? null : name;
}

async function main(): Promise<number> {
  const name = migrationName(process.argv[2]);
  if (!name) {
    console.error("usage: npm run db:diff -- <migration-name>");
    return 1;
  }
  const current = await readFile(schemaPath, "utf8");
  const snapshot = existsSync(snapshotPath) ? await readFile(snapshotPath, "utf8") : null;
  const sql = await diffSchemas(snapshot, current);
  if (sql.trim() === "") {
    console.log("no changes: prisma/schema.prisma matches the last migration");
    return 0;
  }
  const dir = path.join(migrationsDir, `${timestamp(new Date())}_${name}`);
  await mkdir(dir, { recursive: false });
  await writeFile(path.join(dir, "migration.sql"), sql.endsWith("\n") ? sql : `${sql}\n`);
  await writeFile(snapshotPath, current);
  console.log(`wrote ${path.relative(root, dir)}/migration.sql and updated ${path.relative(root, snapshotPath)}`);
  console.log(sql);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`db:diff failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
