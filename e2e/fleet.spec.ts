// The fleet page against devices seeded for each test: server-side
// pagination, filters and their counts, search, and view state in the URL.
// Every test filters by a type of its own, so other tests' devices never count.
import { expect, test } from "./fixtures.ts";
import { FleetPage } from "./pages/fleet-page.ts";
import type { SeedDevice } from "./support/db.ts";

type Fleet = { type: string; north: string; south: string; devices: SeedDevice[] };

/**
 * 120 devices of the test's own type: a pattern of region, firmware and
 * connection that gives every filter combination a different count.
 */
function testFleet(token: string, count = 120): Fleet {
  const type = `e2e-${token}`;
  const north = `north-${token}`;
  const south = `south-${token}`;
  const devices = Array.from({ length: count }, (_, i) => ({
    id: `${token}-${String(i + 1).padStart(4, "0")}`,
    type,
    region: i % 3 === 0 ? south : north,
    firmwareVersion: i % 4 === 0 ? "7.2.0" : "7.1.0",
    online: i % 5 === 0,
  }));
  return { type, north, south, devices };
}

function countOf(fleet: Fleet, match: (d: SeedDevice) => boolean): number {
  return fleet.devices.filter(match).length;
}

test("pages through a type's devices on the server, 50 at a time", async ({ page, signInAs, seedDevices, token }) => {
  const fleet = testFleet(token);
  await seedDevices(fleet.devices);
  await signInAs("operator");
  const view = new FleetPage(page);
  await view.goto();

  await view.filterByType(fleet.type);
  await view.expectRange(1, 50, 120);
  await expect(view.rows).toHaveCount(50);
  await expect(view.rows.first()).toContainText(`${token}-0001`);

  await view.nextPage();
  await view.expectRange(51, 100, 120);
  await expect(view.rows.first()).toContainText(`${token}-0051`);
  await expect(page).toHaveURL(/[?&]page=2(&|$)/);

  await view.nextPage();
  await view.expectRange(101, 120, 120);
  await expect(view.rows).toHaveCount(20);
  await expect(view.pagination.getByRole("button", { name: "Next page" })).toBeDisabled();
});

test("filters by type, region, firmware and connection narrow the table and the counts", async ({ page, signInAs, seedDevices, token }) => {
  const fleet = testFleet(token);
  await seedDevices(fleet.devices);
  await signInAs("operator");
  const view = new FleetPage(page);
  await view.goto();

  await view.filterByType(fleet.type);
  await expect(view.stat("Devices (filtered)")).toHaveText("120");
  await expect(view.stat("Online")).toHaveText(String(countOf(fleet, (d) => !!d.online)));

  await view.filterByRegion(fleet.north);
  const north = countOf(fleet, (d) => d.region === fleet.north);
  await view.expectRange(1, 50, north);
  await expect(view.stat("Devices (filtered)")).toHaveText(String(north));
  await expect(view.rows.filter({ hasText: fleet.south })).toHaveCount(0);

  await view.filterByFirmware("7.2.0");
  const northNew = countOf(fleet, (d) => d.region === fleet.north && d.firmwareVersion === "7.2.0");
  await view.expectRange(1, northNew, northNew);
  await expect(view.rows).toHaveCount(northNew);
  await expect(view.stat("Devices (filtered)")).toHaveText(String(northNew));

  await view.filterByConnection("online");
  const northNewOnline = countOf(fleet, (d) => d.region === fleet.north && d.firmwareVersion === "7.2.0" && !!d.online);
  await view.expectRange(1, northNewOnline, northNewOnline);
  await expect(view.rows).toHaveCount(northNewOnline);
  await expect(view.stat("Online")).toHaveText(String(northNewOnline));
  await expect(view.stat("Offline")).toHaveText("0");
  for (const row of await view.rows.all()) await expect(row).toContainText("Online");

  await view.filterByConnection("offline");
  const northNewOffline = northNew - northNewOnline;
  await view.expectRange(1, northNewOffline, northNewOffline);
  await expect(view.rows.filter({ hasText: "Online" })).toHaveCount(0);
});

test("the firmware list counts the filtered devices and filters by a version", async ({ page, signInAs, seedDevices, token }) => {
  const fleet = testFleet(token);
  await seedDevices(fleet.devices);
  await signInAs("operator");
  const view = new FleetPage(page);
  await view.goto({ type: fleet.type });

  const current = countOf(fleet, (d) => d.firmwareVersion === "7.1.0");
  const newer = countOf(fleet, (d) => d.firmwareVersion === "7.2.0");
  await expect(view.firmwareList.getByRole("listitem")).toHaveCount(2);
  // Most common version first.
  await expect(view.firmwareList.getByRole("listitem").first()).toContainText("7.1.0");
  await expect(view.firmwareCount("7.1.0")).toContainText(String(current));
  await expect(view.firmwareCount("7.2.0")).toContainText(String(newer));

  await view.filterFromFirmwareList("7.2.0");
  await expect(view.firmwareFilter).toHaveValue("7.2.0");
  await view.expectRange(1, newer, newer);
  await expect(view.rows.filter({ hasText: "7.1.0" })).toHaveCount(0);
});

test("searching by id finds the one device", async ({ page, signInAs, seedDevices, token }) => {
  const fleet = testFleet(token, 30);
  await seedDevices(fleet.devices);
  await signInAs("manager");
  const view = new FleetPage(page);
  await view.goto();

  await view.searchFor(`${token}-0017`);
  await expect(view.rows).toHaveCount(1);
  await expect(view.row(`${token}-0017`)).toBeVisible();
  await view.expectRange(1, 1, 1);
  await expect(page).toHaveURL(new RegExp(`[?&]q=${token}-0017(&|$)`));

  // A prefix shared by the test's devices finds all of them.
  await view.searchFor(`${token}-001`);
  await view.expectRange(1, 10, 10);
});

test("the URL keeps the filters across a reload", async ({ page, signInAs, seedDevices, token }) => {
  const fleet = testFleet(token);
  await seedDevices(fleet.devices);
  await signInAs("engineer");
  const view = new FleetPage(page);
  await view.goto();

  await view.filterByType(fleet.type);
  await view.filterByRegion(fleet.south);
  await view.filterByConnection("offline");
  const expected = countOf(fleet, (d) => d.region === fleet.south && !d.online);
  await view.expectRange(1, expected, expected);
  await expect(page).toHaveURL(new RegExp(`[?&]type=${fleet.type}(&|$)`));
  await expect(page).toHaveURL(/[?&]online=offline(&|$)/);
  await expect(page).toHaveURL(new RegExp(`[?&]region=${fleet.south}(&|$)`));

  await page.reload();
  await expect(view.typeFilter).toHaveValue(fleet.type);
  await expect(view.regionFilter).toHaveValue(fleet.south);
  await expect(view.connectionFilter).toHaveValue("offline");
  await view.expectRange(1, expected, expected);
  await expect(view.stat("Devices (filtered)")).toHaveText(String(expected));
});
