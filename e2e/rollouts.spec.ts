// Rollouts from the launch wizard to a fleet that really updates: the plan
// preview, live waves watched by an operator in a second browser, pausing,
// who may launch, and the rule that the creator cannot approve their own
// rollout. Every test registers devices of a type of its own, so plans never
// include other tests' devices.
import { expect, test as base } from "./fixtures.ts";
import { FirmwarePage } from "./pages/firmware-page.ts";
import { LaunchWizardPage } from "./pages/launch-wizard-page.ts";
import { RolloutPage } from "./pages/rollout-page.ts";
import { signInThroughApi } from "./support/auth.ts";
import type { SeedDevice } from "./support/db.ts";
import { firmwareImage, uploadFirmwareThroughApi } from "./support/firmware.ts";
import { expectNoReload, markDocument, withoutPolling } from "./support/live.ts";
import { simulateDevices, type SimulatedFleet } from "./support/sim.ts";

const test = base.extend<{ simulate: (devices: SeedDevice[]) => Promise<SimulatedFleet> }>({
  simulate: async ({}, use, testInfo) => {
    const fleets: SimulatedFleet[] = [];
    await use(async (devices) => {
      const fleet = await simulateDevices(devices.map((d) => ({ id: d.id, type: d.type, firmwareVersion: d.firmwareVersion, region: d.region })));
      fleets.push(fleet);
      return fleet;
    });
    for (const fleet of fleets) {
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach("simulator", { body: `${JSON.stringify(fleet.stats(), null, 2)}\n\n${fleet.log.join("\n")}`, contentType: "text/plain" });
      }
      await fleet.stop();
    }
  },
});

function devicesOf(type: string, prefix: string, count: number, fields: Partial<SeedDevice> = {}): SeedDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${String(i + 1).padStart(2, "0")}`,
    type,
    region: "eu-west",
    hardwareVersion: "rev-a",
    firmwareVersion: "1.0.0",
    ...fields,
  }));
}

test("an engineer uploads firmware, previews equal waves with the skipped devices, and launches", async ({ page, signInAs, seedDevices, token }) => {
  const type = `wiz-${token}`;
  await seedDevices([
    ...devicesOf(type, `${token}-wiz`, 6),
    { id: `${token}-old-board`, type, region: "eu-west", hardwareVersion: "rev-z", firmwareVersion: "1.0.0" },
    { id: `${token}-current`, type, region: "eu-west", hardwareVersion: "rev-a", firmwareVersion: "2.0.0" },
  ]);
  await signInAs("engineer");
  const registry = new FirmwarePage(page);
  await registry.goto({ type });
  await registry.openUploadForm();
  await registry.upload({ image: firmwareImage(), version: "2.0.0", deviceType: type, compatibleHardware: "rev-a" });
  await expect(registry.row("2.0.0")).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Rollouts" }).click();
  await page.getByRole("main").getByRole("link", { name: "New rollout" }).first().click();
  const wizard = new LaunchWizardPage(page);
  await wizard.ready();
  await wizard.chooseFirmware({ version: "2.0.0", deviceType: type });
  await expect(wizard.name).toHaveValue(`${type} 2.0.0`);
  await wizard.useEqualWaves(3);
  await wizard.previewPlan();

  await expect(wizard.figure("Targeted")).toHaveText("8");
  await expect(wizard.figure("Eligible")).toHaveText("6");
  await expect(wizard.figure("Skipped")).toHaveText("2");
  await expect(wizard.plannedWaves.getByRole("row").filter({ has: page.getByRole("cell") })).toHaveCount(3);
  await expect(wizard.plannedWaves.getByRole("cell", { name: "2", exact: true })).toHaveCount(3);
  // The table is on the page by now: each row must say which wave it is.
  for (const n of [1, 2, 3]) await expect.soft(wizard.waveSize(n)).toHaveText("2", { timeout: 2_000 });
  await expect(wizard.skippedByReason.getByRole("listitem")).toHaveCount(2);
  await expect(wizard.skippedCount("Incompatible hardware")).toHaveText("1");
  await expect(wizard.skippedCount("Already on this version")).toHaveText("1");
  await wizard.preview.getByText("Show skipped devices").click();
  await expect(wizard.preview.getByRole("listitem").filter({ hasText: `${token}-old-board` })).toContainText("hardware rev-z is not in rev-a");
  await expect(wizard.preview.getByRole("listitem").filter({ hasText: `${token}-current` })).toContainText("already runs 2.0.0");
  await expect(wizard.preview).toContainText("No approval needed");

  await wizard.launch();
  const rollout = new RolloutPage(page);
  await expect(page.getByRole("heading", { name: `${type} 2.0.0`, level: 1 })).toBeVisible();
  await expect(rollout.state("running")).toBeVisible();
  await expect(rollout.wave(1)).toContainText("Current wave");
  await expect(rollout.wave(3)).toBeVisible();
  await expect(rollout.wave(4)).toHaveCount(0);
  await expect(rollout.settings).toContainText("3 equal waves");
  await expect(rollout.settings).toContainText("2 · 2 · 2");
  await expect(rollout.pauseButton).toBeVisible();
});

test("an operator watches wave 2 start live in a second browser and pauses; the engineer's page follows", async ({
  page,
  signInAs,
  newSession,
  seedDevices,
  simulate,
  token,
}) => {
  const type = `sim-${token}`;
  const devices = devicesOf(type, `${token}-sim`, 12);
  await seedDevices(devices);
  await signInAs("engineer");
  const firmware = await uploadFirmwareThroughApi(page.request, { version: "2.0.0", deviceType: type });

  // 3 devices, then 9 at one a second: wave 2 runs for over 9 s, time enough to pause it.
  await withoutPolling(page);
  const wizard = new LaunchWizardPage(page);
  await wizard.goto();
  await wizard.chooseFirmware(firmware);
  await wizard.useExplicitSizes("3");
  await wizard.rate.fill("1");
  const rolloutId = await wizard.launch();
  const engineerView = new RolloutPage(page);
  await expect(engineerView.state("running")).toBeVisible();
  await markDocument(page, token);

  // The devices are not connected yet, so nothing can move before the operator looks.
  const operator = await newSession("operator");
  await withoutPolling(operator.page);
  const operatorView = new RolloutPage(operator.page);
  await operatorView.goto(rolloutId);
  await expect(operatorView.liveStatus).toHaveText("Live");
  await expect(operatorView.wave(1)).toContainText("Current wave");
  await expect(operatorView.waveProgress(2)).toHaveAccessibleName("Wave 2 progress: 9 pending");
  await markDocument(operator.page, token);

  await simulate(devices);

  await expect(operatorView.wave(2), "wave 2 did not start on the operator's open page").toContainText("Current wave", { timeout: 30_000 });
  await expect(operatorView.wave(2)).toContainText("Running");
  await expect(operatorView.waveProgress(1)).toHaveAccessibleName("Wave 1 progress: 3 succeeded");
  await expect(operatorView.wave(1)).toContainText(/Gate passed|Completed/);

  await operatorView.pause("Checking the first devices");
  await expect(operatorView.state("paused")).toBeVisible();
  await expect(operatorView.pausedBanner).toContainText(`Paused by ${operator.user.email}: Checking the first devices`);
  await expect(operatorView.pauseButton).toHaveCount(0);
  await expect(operatorView.actions.getByRole("button", { name: "Resume rollout" })).toBeVisible();

  await expect(engineerView.state("paused"), "the pause did not reach the engineer's open page").toBeVisible();
  await expect(engineerView.pausedBanner).toContainText(`Paused by ${operator.user.email}: Checking the first devices`);
  await expect(engineerView.wave(2)).toContainText("Current wave");
  await expectNoReload(operator.page, token);
  await expectNoReload(page, token);
});

test("a manager cannot launch: no New rollout control, a 403 page, and FORBIDDEN from the API", async ({ page, request, signInAs, createUser, seedDevices, token }) => {
  const type = `mgr-${token}`;
  await seedDevices(devicesOf(type, `${token}-mgr`, 2));
  // A launch that would succeed for an engineer: only the role can refuse it.
  await signInThroughApi(request, await createUser("engineer"));
  const firmware = await uploadFirmwareThroughApi(request, { version: "2.0.0", deviceType: type });

  await signInAs("manager");
  await page.goto("/rollouts");
  await expect(page.getByRole("heading", { name: "Rollouts", level: 1 })).toBeVisible();
  await expect(page.getByRole("combobox", { name: "State" })).toBeVisible();
  await expect(page.getByRole("link", { name: "New rollout" })).toHaveCount(0);

  await page.goto("/rollouts/new");
  await expect(page.getByRole("heading", { name: "You don't have access to launching rollouts" })).toBeVisible();
  await expect(page.getByText("403 · Forbidden")).toBeVisible();
  await expect(page.getByRole("form", { name: "Launch rollout" })).toHaveCount(0);

  const response = await page.request.post("/api/trpc/rollouts.launch", {
    data: { json: { firmwareId: firmware.id, name: `manager ${token}`, targeting: {}, strategy: { kind: "equal", waves: 1 } } },
  });
  expect(response.status()).toBe(403);
  const body = (await response.json()) as { error: { json: { data: { code: string } } } };
  expect(body.error.json.data.code).toBe("FORBIDDEN");
});

test("a rollout that needs approval waits for a second engineer: its creator's approval is refused", async ({
  page,
  signInAs,
  newSession,
  seedDevices,
  token,
}) => {
  const type = `appr-${token}`;
  await seedDevices(devicesOf(type, `${token}-appr`, 3));
  await signInAs("engineer");
  const firmware = await uploadFirmwareThroughApi(page.request, { version: "2.0.0", deviceType: type });

  const wizard = new LaunchWizardPage(page);
  await wizard.goto();
  await wizard.chooseFirmware(firmware);
  await wizard.requireApproval.check();
  await wizard.previewPlan();
  await expect(wizard.preview).toContainText("Approval required");
  const rolloutId = await wizard.launch();

  const creatorView = new RolloutPage(page);
  await expect(creatorView.state("awaiting approval")).toBeVisible();
  await expect(creatorView.approvalBanner).toContainText("Waiting for approval");
  await expect(creatorView.approveButton).toHaveAccessibleDescription("You created this rollout: another engineer must approve it.");
  // Unavailable, yet focusable, so that the reason is read out with it.
  await expect(creatorView.approveButton).toBeDisabled();
  await creatorView.approveButton.focus();
  await expect(creatorView.approveButton).toBeFocused();
  // The server refuses the creator too, whatever a page offers.
  const refused = await page.request.post("/api/trpc/rollouts.approve", { data: { json: { id: rolloutId } } });
  expect(refused.status()).toBe(403);
  const refusal = (await refused.json()) as { error: { json: { message: string; data: { code: string } } } };
  expect(refusal.error.json.data.code).toBe("FORBIDDEN");
  expect(refusal.error.json.message).toBe("The engineer who created a rollout cannot approve it: another engineer must.");
  await expect(creatorView.state("awaiting approval")).toBeVisible();
  // The server kept it waiting, not just this page.
  await creatorView.goto(rolloutId);
  await expect(creatorView.state("awaiting approval")).toBeVisible();

  const approver = await newSession("engineer");
  const approverView = new RolloutPage(approver.page);
  await approverView.goto(rolloutId);
  await expect(approverView.approveButton).not.toHaveAccessibleDescription(/You created this rollout/);
  await approverView.approveButton.click();
  await expect(approverView.notice("Rollout approved: the first wave starts now.")).toBeVisible();
  await expect(approverView.state("running")).toBeVisible();
  await expect(approver.page.getByText("Approved by")).toContainText(approver.user.email);
  await expect(approverView.approvalBanner).toHaveCount(0);

  await expect(creatorView.state("running"), "the approval did not reach the creator's open page").toBeVisible();
});
