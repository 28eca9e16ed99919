// Signing in and out. The only tests that use the sign-in form; every other
// test signs in through the API.
import { ROLES } from "../server/auth/permissions.ts";
import { expect, test } from "./fixtures.ts";
import { AdminPage } from "./pages/admin-page.ts";
import { FleetPage } from "./pages/fleet-page.ts";
import { SignInPage } from "./pages/signin-page.ts";

test.describe("sign-in form", () => {
  for (const role of ROLES) {
    test(`${/^[aeiou]/.test(role) ? "an" : "a"} ${role} signs in and sees the fleet with their role in the header`, async ({ page, createUser, seedDevices, token }) => {
      // One device, so the fleet shows its table whatever else is in the database.
      await seedDevices([{ id: `${token}-0001`, type: `auth-${token}`, region: "eu-west", firmwareVersion: "1.0.0" }]);
      const user = await createUser(role);
      const signIn = new SignInPage(page);
      await signIn.goto();
      await signIn.signIn(user.email, user.password);

      await expect(page).toHaveURL(/\/fleet$/);
      const fleet = new FleetPage(page);
      await expect(fleet.table).toBeVisible();
      await expect(page.getByRole("banner").getByLabel(`Signed in as ${user.email}, role ${role}`)).toContainText(role);
    });
  }

  test("a wrong password is refused and the form stays on /signin", async ({ page, createUser }) => {
    const user = await createUser("operator");
    const signIn = new SignInPage(page);
    await signIn.goto();
    await signIn.signIn(user.email, `${user.password}-wrong`);

    await expect(signIn.error).toHaveText("Wrong email or password.");
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto("/fleet");
    await expect(page).toHaveURL(/\/signin/);
  });

  test("after 5 failed attempts the account is locked, even for the right password", async ({ page, createUser }) => {
    const user = await createUser("engineer");
    const signIn = new SignInPage(page);
    await signIn.goto();
    for (let attempt = 1; attempt <= 5; attempt++) {
      await signIn.signIn(user.email, `wrong-${attempt}`);
      await expect(signIn.error).toHaveText("Wrong email or password.");
    }

    await signIn.signIn(user.email, user.password);
    await expect(signIn.error).toContainText("Too many failed sign-in attempts");
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto("/fleet");
    await expect(page).toHaveURL(/\/signin/);
  });
});

test.describe("signing out", () => {
  test("sign out returns to /signin and the fleet is closed afterwards", async ({ page, signInAs }) => {
    await signInAs("operator");
    const fleet = new FleetPage(page);
    await fleet.goto();

    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto("/fleet");
    await expect(page).toHaveURL(/\/signin/);
  });

  test("an admin's “Sign out everywhere” ends the user's session in their own browser", async ({ page, signInAs, newSession }) => {
    await signInAs("admin");
    const operator = await newSession("operator");
    const operatorFleet = new FleetPage(operator.page);
    await operatorFleet.goto();
    await expect(operator.page).toHaveURL(/\/fleet$/);

    const admin = new AdminPage(page);
    await admin.goto();
    await admin.signOutEverywhere(operator.user.email);

    await operator.page.goto("/fleet");
    await expect(operator.page).toHaveURL(/\/signin/);
    await expect(operator.page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  });
});
