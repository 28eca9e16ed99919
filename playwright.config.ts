// End-to-end tests against the production build. Start them with
// `npm run test:e2e` (e2e/run.ts), which starts the product on a fresh
// database and sets BASE_URL, E2E_DATABASE_URL and E2E_MQTT_URL (the broker
// the product uses, for simulated devices) for these tests.
import { defineConfig, devices } from "@playwright/test";

const baseURL = process.env.BASE_URL;
if (!baseURL) throw new Error("BASE_URL is not set: run the suite with `npm run test:e2e`, which starts the product first");

export default defineConfig({
  testDir: "e2e",
  // e2e/run.ts writes the server log next to this folder; Playwright empties its own output folder.
  outputDir: "test-results/playwright",
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: 2,
  // Generous for two cores shared with the server, its database and Chromium; a passing test takes 2–15 s.
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        // Debian's Chromium: `npx playwright install` cannot download here.
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        },
      },
    },
  ],
});
