// The one Prisma client of a process, shared by the web (tRPC, auth) and the
// worker. Hot-path SQL uses `pool` directly; Prisma is for relational CRUD.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/client.ts";

type Db = {
  prisma: InstanceType<typeof PrismaClient>;
  pool: pg.Pool;
};

const globalForDb = globalThis as unknown as { fleetwaveDb?: Db };

function connect(): Db {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error("DATABASE_URL is not set (server/main.ts sets it when it starts the embedded database)");
  const pool = new pg.Pool({ connectionString, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
  pool.on("error", (err) => console.error("[db] idle client error:", err.message));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return { prisma, pool };
}

function db(): Db {
  globalForDb.fleetwaveDb ??= connect();
  return globalForDb.fleetwaveDb;
}

/** Lazily connected, so importing a module never needs a database. */
export const prisma = new Proxy({} as Db["prisma"], {
  get: (_target, prop) => {
    const client = db().prisma;
    const value = Reflect.get(client, prop);
    return typeof value === "function" ? value.bind(client) : value;
  },
});

export function getPool(): pg.Pool {
  return db().pool;
}

export async function disconnectDb(): Promise<void> {
  const current = globalForDb.fleetwaveDb;
  if (!current) return;
  globalForDb.fleetwaveDb = undefined;
  await current.prisma.$disconnect();
  await current.pool.end();
}

export type { Db };
