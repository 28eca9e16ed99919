// Prisma's schema engine, run from its published WASM build. The Prisma CLI
// would download a native engine for `migrate`, which these machines cannot
// fetch; the WASM build talks to PostgreSQL through a driver adapter instead.
//
// The package's own entry (`schema_engine.js`) does `import * as wasm from
// "./schema_engine_bg.wasm"`, which Node cannot load (ESM-integrated WASM is
// not enabled). So the glue module `schema_engine_bg.js` is imported alone, the
// .wasm next to it is instantiated here with that module as its import object
// (the .wasm imports everything from "./schema_engine_bg.js"), and the two are
// wired together with `__wbg_set_wasm` + `__wbindgen_start`, which is all the
// package entry would have done.
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import * as engineGlue from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm/schema_engine_bg";

const MIGRATION_FILE = "migration.sql";
const LOCKFILE = "migration_lock.toml";
const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

// The glue's setter and start hook are untyped exports of the bg module.
type Glue = typeof engineGlue & { __wbg_set_wasm(exports: WebAssembly.Exports): void };

let loaded: Promise<void> | undefined;

function loadWasm(): Promise<void> {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(path.join(path.dirname(gluePath), "schema_engine_bg.wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, {
      "./schema_engine_bg.js": engineGlue as unknown as WebAssembly.ModuleImports,
    });
    (engineGlue as Glue).__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })().catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

/**
 * adapter-pg's `executeScript` splits a script on every ";" and sends the
 * pieces one by one through a pool, which breaks `DO $$ … ; … $$` blocks and
 * gives up the all-or-nothing behaviour of `prisma migrate deploy`. Sending the
 * whole script as one parameterless query uses PostgreSQL's simple protocol:
 * multiple statements, one implicit transaction, exactly as the native engine.
 */
function wholeScriptAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  adapter.executeScript = async (script: string) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

/** A pg adapter factory that remembers its connections so they can be closed. */
function trackedFactory(databaseUrl: string) {
  const inner = new PrismaPg({ connectionString: databaseUrl });
  const open: SqlDriverAdapter[] = [];
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect() {
      const adapter = wholeScriptAdapter(await inner.connect());
      open.push(adapter);
      return adapter;
    },
    connectToShadowDb() {
      // Nothing here needs one (db:diff diffs two schema texts); refusing makes
      // an accidental use loud instead of creating databases on the server.
      return Promise.reject(new Error("the Fleetwave schema engine never uses a shadow database"));
    },
  };
  const closeAll = async () => {
    await Promise.allSettled(open.splice(0).map((adapter) => adapter.dispose()));
  };
  return { factory, closeAll };
}

function logEngineMessage(message: unknown): void {
  if (process.env.LOG_LEVEL !== "debug") return;
  console.debug("[schema-engine]", message);
}

/**
 * Runs `use` with an engine connected to `databaseUrl`. The engine asks the
 * server for its version as it starts, so even a pure schema-to-schema diff
 * needs a reachable PostgreSQL (any database on it).
 */
async function withEngine<T>(databaseUrl: string, use: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  await loadWasm();
  const { factory, closeAll } = trackedFactory(databaseUrl);
  let engine: SchemaEngine | undefined;
  try {
    engine = await engineGlue.SchemaEngine.new(
      { datamodels: undefined },
      logEngineMessage,
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await use(engine);
  } catch (err) {
    throw asError(err);
  } finally {
    engine?.free();
    await closeAll();
  }
}

/** The engine rejects with plain objects or strings at times; callers want Errors. */
function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === "string") return new Error(err);
  return new Error(JSON.stringify(err));
}

const SCHEMA_FILE = "schema.prisma";

/**
 * The SQL that takes a database from `fromSchema` (null: an empty database) to
 * `toSchema`, or "" when they describe the same database. Both are Prisma
 * schema texts.
 */
export async function diffSchemas(
  fromSchema: string | null,
  toSchema: string,
  databaseUrl = serverUrl(),
): Promise<string> {
  return withEngine(databaseUrl, async (engine) => {
    const result = await engine.diff({
      from: fromSchema === null ? { tag: "empty" } : { tag: "schemaDatamodel", files: [{ path: SCHEMA_FILE, content: fromSchema }] },
      to: { tag: "schemaDatamodel", files: [{ path: SCHEMA_FILE, content: toSchema }] },
      script: true,
      // With exitCode requested the engine answers 2 for "there is a difference",
      // which is sturdier than recognising its "empty migration" comment.
      exitCode: true,
      filters: NO_FILTER,
    });
    return result.exitCode === 2 ? (result.stdout ?? "") : "";
  });
}

/** Where diffs connect when the caller names no database: only the server version matters. */
function serverUrl(): string {
  return process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

/** The migrations directory as the Prisma CLI hands it to the engine. */
export async function readMigrationList(migrationsDir: string): Promise<MigrationList> {
  const baseDir = path.resolve(migrationsDir);
  const lockContent = await readFile(path.join(baseDir, LOCKFILE), "utf8").catch(() => null);
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const directories = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  directories.sort((a, b) => a.localeCompare(b));
  const migrationDirectories = await Promise.all(
    directories.map(async (name) => ({
      path: name,
      migrationFile: {
        path: MIGRATION_FILE,
        content: await readFile(path.join(baseDir, name, MIGRATION_FILE), "utf8").then(
          (value) => ({ tag: "ok" as const, value }),
          (err: Error) => ({ tag: "error" as const, value: err.message }),
        ),
      },
    })),
  );
  return {
    baseDir,
    lockfile: { path: LOCKFILE, content: lockContent },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

/**
 * Applies the migrations of `migrationsDir` that the database has not seen and
 * records them in `_prisma_migrations`, as `prisma migrate deploy` does (same
 * table, checksums and failure handling: a failed migration blocks the next
 * runs until resolved).
 */
export async function applyMigrations(databaseUrl: string, migrationsDir: string): Promise<{ applied: string[] }> {
  const migrationsList = await readMigrationList(migrationsDir);
  return withEngine(databaseUrl, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTER });
    return { applied: appliedMigrationNames };
  });
}

/**
 * Marks a failed migration as rolled back, the offline `prisma migrate resolve
 * --rolled-back`: after fixing its SQL (the failed attempt left nothing behind,
 * each script runs in one transaction), the next run applies it again.
 */
export async function markMigrationRolledBack(databaseUrl: string, migrationName: string): Promise<void> {
  await withEngine(databaseUrl, (engine) => engine.markMigrationRolledBack({ migrationName }));
}
