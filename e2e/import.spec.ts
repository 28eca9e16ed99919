// Importing a factory manifest on the admin page: good rows are registered,
// bad rows are reported by line with the reason and skipped.
import { expect, test } from "./fixtures.ts";
import { AdminPage } from "./pages/admin-page.ts";
import { FleetPage } from "./pages/fleet-page.ts";

test("a manifest with good and bad rows: counts, rejected lines with reasons, good rows kept", async ({ page, signInAs, token }) => {
  const type = `import-${token}`;
  const good = [`${token}-imp-1`, `${token}-imp-2`, `${token}-imp-3`];
  const manifest = [
    "id,type,hardwareVersion,region,firmwareVersion,tags", // line 1
    `${good[0]},${type},rev-a,eu-west,4.1.5,pilot;lab`, // 2
    `${token} bad id,${type},rev-a,eu-west,4.1.5,`, // 3: space in the id
    `${good[1]},${type},rev-b,us-east,4.1.4,`, // 4
    `${token}-imp-4,${type},rev-a,eu-west,latest,`, // 5: not a version
    `${good[0]},${type},rev-a,eu-west,4.1.5,`, // 6: same id as line 2
    `${token}-imp-5,${type}`, // 7: too few columns
    `${good[2]},${type},rev-a,ap-south,4.1.5,critical`, // 8
  ].join("\n");

  await signInAs("admin");
  const admin = new AdminPage(page);
  await admin.goto();
  await admin.importManifest(manifest);

  await expect(admin.importResult).toContainText("3 created, 0 updated, 0 unchanged, 4 rejected.");
  await expect(admin.rejectedRows.getByRole("row").filter({ has: page.getByRole("cell") })).toHaveCount(4);
  await expect(admin.rejectionReason(3)).toContainText(`id "${token} bad id" must be`);
  await expect(admin.rejectionReason(5)).toContainText(`firmwareVersion "latest" is not a semantic version`);
  await expect(admin.rejectionReason(6)).toContainText(`id "${good[0]}" already appears on line 2`);
  await expect(admin.rejectionReason(7)).toContainText("expected 6 columns");

  const fleet = new FleetPage(page);
  await fleet.goto({ type });
  await fleet.expectRange(1, 3, 3);
  for (const id of good) await expect(fleet.row(id)).toBeVisible();
  await expect(fleet.row(`${good[0]}`)).toContainText("pilot");
  await expect(fleet.rows.filter({ hasText: `${token}-imp-4` })).toHaveCount(0);
  await expect(fleet.rows.filter({ hasText: `${token}-imp-5` })).toHaveCount(0);
});

test("importing the same manifest again changes nothing", async ({ page, signInAs, token }) => {
  const type = `reimport-${token}`;
  const manifest = ["id,type,hardwareVersion,region,firmwareVersion,tags", `${token}-re-1,${type},rev-a,eu-west,4.1.5,`, `${token}-re-2,${type},rev-a,eu-west,4.1.5,`].join("\n");

  await signInAs("admin");
  const admin = new AdminPage(page);
  await admin.goto();
  await admin.importManifest(manifest);
  await expect(admin.importResult).toContainText("2 created, 0 updated, 0 unchanged, 0 rejected.");

  await admin.importManifest(manifest, "manifest-again.csv");
  await expect(admin.importResult).toContainText("0 created, 0 updated, 2 unchanged, 0 rejected.");
  await expect(admin.rejectedRows).toHaveCount(0);
});
