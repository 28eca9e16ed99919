// Two projects: `unit` (pure code, fast, run in a non-UTC zone so that any
// local-time slip in date handling shows up) and `integration` (real
// PostgreSQL/MQTT on this machine, one file at a time because they share
// servers).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = path.dirname(fileURLToPath(import.meta.url));
const exclude = ["**/node_modules/**", "**/.next/**", "e2e/**", "**/.data/**"];

export default defineConfig({
  resolve: {
    // tsconfig's "@/*" path, which tsx resolves on its own.
    alias: [{ find: /^@\//, replacement: `${root}/` }],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...exclude, "**/*.int.test.ts"],
          env: { TZ: "America/New_York" },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          globalSetup: ["server/db/vitest-global-setup.ts"],
          include: ["**/*.int.test.ts"],
          exclude,
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
