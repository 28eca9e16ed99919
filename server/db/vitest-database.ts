// For integration test files that use the product's own database client: a
// fresh migrated database for the file, set as DATABASE_URL before anything
// connects, and closed and dropped after the file.
import { afterAll, beforeAll } from "vitest";
import { createTestDatabase } from "./test-database.ts";

export function useTestDatabase(): void {
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    process.env.DATABASE_URL = db.url;
  });
  afterAll(async () => {
    const { disconnectDb } = await import("./client.ts");
    await disconnectDb();
    await drop?.();
  });
}
