// `npm run db:migrate`: applies pending migrations to DATABASE_URL, the same
// step the web and worker processes take as they start.
// `npm run db:migrate -- --rolled-back NAME` stands in for `prisma migrate
// resolve --rolled-back NAME`, which needs the native engine.
import { migrate } from "./migrate.ts";
import { markMigrationRolledBack } from "./schema-engine.ts";

async function main(args: string[]): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error("db:migrate: DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/fleetwave)");
    return 1;
  }
  if (args[0] === "--rolled-back") {
    if (!args[1]) {
      console.error("usage: npm run db:migrate -- --rolled-back <migration-name>");
      return 1;
    }
    await markMigrationRolledBack(databaseUrl, args[1]);
    console.log(`db:migrate: marked ${args[1]} as rolled back; fix its SQL, then run db:migrate again`);
    return 0;
  }
  const { applied } = await migrate(databaseUrl);
  if (applied.length === 0) {
    console.log("db:migrate: database is up to date, nothing applied");
  } else {
    console.log(`db:migrate: applied ${applied.length} migration(s):`);
    for (const name of applied) console.log(`  ${name}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`db:migrate failed: ${message}`);
    if (/failed migrations/.test(message)) {
      console.error("Once its SQL is fixed: npm run db:migrate -- --rolled-back <migration-name>, then npm run db:migrate");
    }
    process.exit(1);
  },
);
