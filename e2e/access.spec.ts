// Who may open what: pages show the 403 page and hide their links, and the API
// answers FORBIDDEN (403) to a signed-in user without the permission and
// UNAUTHORIZED (401) to nobody.
import { expect, test } from "./fixtures.ts";
import { waitForHydration } from "./support/hydration.ts";

const MANIFEST = "id,type,hardwareVersion,region,firmwareVersion,tags\n";

test.describe("pages", () => {
  test("a manager gets the 403 page on /admin and has no Admin link", async ({ page, signInAs }) => {
    await signInAs("manager");
    await page.goto("/admin");

    await expect(page.getByRole("heading", { name: "You don't have access to the admin pages" })).toBeVisible();
    await expect(page.getByText("403 · Forbidden")).toBeVisible();
    await expect(page.getByRole("button", { name: "Import devices" })).toHaveCount(0);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link", { name: "Audit" })).toBeVisible();
    await expect(nav.getByRole("link", { name: "Admin" })).toHaveCount(0);
  });

  test("an admin has the Admin link and the admin page", async ({ page, signInAs }) => {
    await signInAs("admin");
    await page.goto("/fleet");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();

    await expect(page).toHaveURL(/\/admin$/);
    await expect(page.getByRole("heading", { name: "Admin", exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Import devices" })).toBeVisible();
  });

  test("an operator cannot open /audit", async ({ page, signInAs }) => {
    await signInAs("operator");
    await page.goto("/audit");

    await expect(page.getByRole("heading", { name: "You don't have access to the audit history" })).toBeVisible();
    await expect(page.getByRole("table", { name: "Audit events" })).toHaveCount(0);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link", { name: "Fleet" })).toBeVisible();
    await expect(nav.getByRole("link", { name: "Audit" })).toHaveCount(0);
  });

  test("a manager can open /audit and sees their own sign-in", async ({ page, signInAs }) => {
    const manager = await signInAs("manager");
    await page.goto("/audit");

    await expect(page.getByRole("heading", { name: "Audit history" })).toBeVisible();
    const actorFilter = page.getByRole("textbox", { name: "Filter by actor" });
    await waitForHydration(actorFilter);
    await actorFilter.fill(manager.email);
    const events = page.getByRole("table", { name: "Audit events" });
    await expect(events.getByRole("row").filter({ hasText: "user.sign_in" })).toHaveCount(1);
  });
});

test.describe("tRPC API", () => {
  test("devices.import answers FORBIDDEN (403) to a manager", async ({ page, signInAs, token }) => {
    await signInAs("manager");
    const response = await page.request.post("/api/trpc/devices.import", {
      data: { json: { csv: `${MANIFEST}${token}-1,forbidden-${token},rev-a,eu-west,1.0.0,\n` } },
    });

    expect(response.status()).toBe(403);
    const body = (await response.json()) as { error: { json: { data: { code: string } } } };
    expect(body.error.json.data.code).toBe("FORBIDDEN");
  });

  test("the same devices.import call succeeds for an admin", async ({ page, signInAs, token }) => {
    await signInAs("admin");
    const response = await page.request.post("/api/trpc/devices.import", {
      data: { json: { csv: `${MANIFEST}${token}-1,allowed-${token},rev-a,eu-west,1.0.0,\n` } },
    });

    expect(response.status()).toBe(200);
    const body = (await response.json()) as { result: { data: { json: { created: number } } } };
    expect(body.result.data.json.created).toBe(1);
  });

  test("devices.import answers UNAUTHORIZED (401) without a session", async ({ request, token }) => {
    const response = await request.post("/api/trpc/devices.import", {
      data: { json: { csv: `${MANIFEST}${token}-1,anon-${token},rev-a,eu-west,1.0.0,\n` } },
    });

    expect(response.status()).toBe(401);
    const body = (await response.json()) as { error: { json: { data: { code: string } } } };
    expect(body.error.json.data.code).toBe("UNAUTHORIZED");
  });
});
