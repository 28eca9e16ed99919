// Live push across browsers: what an admin imports in one browser appears in
// an operator's open fleet view in another, without a reload.
import { expect, test } from "./fixtures.ts";
import { AdminPage } from "./pages/admin-page.ts";
import { FleetPage } from "./pages/fleet-page.ts";

test("devices an admin imports appear on an operator's open fleet page without a reload", async ({ page, signInAs, newSession, token }) => {
  const type = `live-${token}`;
  const ids = [1, 2, 3].map((n) => `${token}-live-${n}`);

  const operator = await newSession("operator");
  const fleet = new FleetPage(operator.page);
  await fleet.goto({ type });
  await expect(fleet.liveStatus).toHaveText("Live");
  await expect(fleet.noDevices).toBeVisible();
  // Survives only if the page is never reloaded.
  await operator.page.evaluate((marker) => Object.assign(window, { e2eMarker: marker }), token);

  await signInAs("admin");
  const admin = new AdminPage(page);
  await admin.goto();
  await admin.importManifest(
    ["id,type,hardwareVersion,region,firmwareVersion,tags", ...ids.map((id) => `${id},${type},rev-a,eu-west,5.0.1,pilot`)].join("\n"),
  );
  await expect(admin.importResult).toContainText("3 created");

  await expect(fleet.rows, "the import's live event did not reach the operator's open page").toHaveCount(3);
  for (const id of ids) await expect(fleet.row(id)).toBeVisible();
  await fleet.expectRange(1, 3, 3);
  await expect(fleet.stat("Devices (filtered)")).toHaveText("3");
  await expect(fleet.liveStatus).toHaveText("Live");
  expect(await operator.page.evaluate(() => (window as unknown as { e2eMarker?: string }).e2eMarker)).toBe(token);
});
