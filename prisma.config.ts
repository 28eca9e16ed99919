import { defineConfig } from "prisma/config";

// The CLI is used only to generate the client; migrations run through
// server/db/migrate.ts, which needs no native engine.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
