// The suite's fixtures. Every test makes its own users and devices, scoped
// with its own `token`, so tests never depend on each other or on order and
// run in parallel against one server.
//
//   test("…", async ({ page, signInAs, newSession, seedDevices, token }) => {
//     const admin = await signInAs("admin");           // this test's `page`, signed in through the API
//     const operator = await newSession("operator");   // a second browser context, another person
//   });
import { test as base, expect, type BrowserContext, type Page } from "@playwright/test";
import type pg from "pg";
import type { Role } from "../server/auth/permissions.ts";
import { signInThroughApi } from "./support/auth.ts";
import { insertDevices, insertUser, openDatabase, type SeedDevice, type TestUser } from "./support/db.ts";
import { uniqueToken } from "./support/unique.ts";

export type Session = { user: TestUser; context: BrowserContext; page: Page };

type TestFixtures = {
  /** Unique to this test: put it in device ids, types, regions and emails. */
  token: string;
  /** A user of the role with a known password (`user.password`), not signed in anywhere. */
  createUser: (role: Role) => Promise<TestUser>;
  /** Creates a user of the role and signs the test's own `page` in as them, through the API. */
  signInAs: (role: Role) => Promise<TestUser>;
  /** Another person in their own browser context (own cookies, own socket), already signed in. */
  newSession: (role: Role) => Promise<Session>;
  /** Registers devices directly in the database, with online state the UI cannot set. */
  seedDevices: (devices: SeedDevice[]) => Promise<void>;
};

type WorkerFixtures = { db: pg.Pool };

export const test = base.extend<TestFixtures, WorkerFixtures>({
  db: [
    async ({}, use) => {
      const db = openDatabase();
      await use(db);
      await db.end();
    },
    { scope: "worker" },
  ],

  token: async ({}, use) => {
    await use(uniqueToken());
  },

  createUser: async ({ db, token }, use) => {
    let count = 0;
    await use(async (role) => {
      count += 1;
      return insertUser(db, { email: `${role}-${token}-${count}@e2e.fleetwave.test`, name: `E2E ${role} ${count}`, role });
    });
  },

  signInAs: async ({ page, createUser }, use) => {
    await use(async (role) => {
      const user = await createUser(role);
      await signInThroughApi(page.request, user);
      return user;
    });
  },

  newSession: async ({ browser, baseURL, createUser }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (role) => {
      const user = await createUser(role);
      const context = await browser.newContext({ baseURL });
      contexts.push(context);
      const page = await context.newPage();
      await signInThroughApi(page.request, user);
      return { user, context, page };
    });
    for (const context of contexts) await context.close();
  },

  seedDevices: async ({ db }, use) => {
    await use((devices) => insertDevices(db, devices));
  },
});

export { expect };
