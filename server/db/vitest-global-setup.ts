// Vitest global setup: workers inherit TEST_DATABASE_ADMIN_URL from here.
import { ensureTestPostgres } from "./test-server.ts";

export default async function setup() {
  const server = await ensureTestPostgres();
  return () => server.stop();
}
