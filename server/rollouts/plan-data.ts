// Planning a rollout against the registry: who is targeted, who is skipped and
// why, the waves and the schedule. The preview and the launch run the same
// code, so what an engineer previewed is what launches.
import type pg from "pg";
import { AppError } from "@/server/errors.ts";
import { config } from "@/server/config.ts";
import { isTargeted, planRollout, type PlanDevice, type PlanFirmware, type Strategy, type Targeting } from "./plan-rules.ts";
import type { PlanInput, RolloutSettings } from "./schema.ts";

type Db = Pick<pg.ClientBase, "query">;

export type PlannedFirmware = PlanFirmware & { id: string; sha256: string; size: number };

export type FullPlan = {
  firmware: PlannedFirmware;
  seed: string;
  targeting: Targeting;
  strategy: Strategy;
  waves: Array<{ index: number; deviceIds: string[] }>;
  skipped: Array<{ deviceId: string; reason: string; detail: string }>;
  targeted: number;
  eligible: number;
  requiresApproval: boolean;
};

const PREVIEW_IDS = 50;

/** Rollouts that still hold their devices: one device is in at most one of them. */
const ACTIVE_STATES = ["awaiting_approval", "running", "paused"];

async function loadFirmware(db: Db, id: string): Promise<PlannedFirmware> {
  const { rows } = await db.query<{ id: string; version: string; device_type: string; compatible_hardware: string[]; min_version: string | null; sha256: string; size: number }>(
    `SELECT id, version, device_type, compatible_hardware, min_version, sha256, size FROM firmware WHERE id = $1`,
    [id],
  );
  const f = rows[0];
  if (!f) throw new AppError("NOT_FOUND", "That firmware is not in the registry.", { firmwareId: ["unknown firmware"] });
  return { id: f.id, version: f.version, deviceType: f.device_type, compatibleHardware: f.compatible_hardware, minVersion: f.min_version, sha256: f.sha256, size: f.size };
}

export async function planFor(db: Db, input: PlanInput, requireApproval = false): Promise<FullPlan> {
  const firmware = await loadFirmware(db, input.firmwareId);
  const { rows } = await db.query<{ id: string; type: string; hardware_version: string; region: string; tags: string[]; firmware_version: string; revoked: boolean; busy_in: string | null }>(
    `SELECT d.id, d.type, d.hardware_version, d.region, d.tags, d.firmware_version, d.revoked_at IS NOT NULL AS revoked,
            (SELECT r.name FROM rollout_executions e JOIN rollouts r ON r.id = e.rollout_id
              WHERE e.device_id = d.id AND r.state::text = ANY($2::text[])
                AND e.state IN ('pending', 'notified', 'in_progress', 'retry_wait') LIMIT 1) AS busy_in
       FROM devices d WHERE d.type = $1`,
    [firmware.deviceType, ACTIVE_STATES],
  );
  const devices: PlanDevice[] = [];
  const busy: FullPlan["skipped"] = [];
  const targeting: Targeting = input.targeting;
  for (const r of rows) {
    const device: PlanDevice = { id: r.id, type: r.type, hardwareVersion: r.hardware_version, region: r.region, tags: r.tags, firmwareVersion: r.firmware_version, revoked: r.revoked };
    if (r.busy_in !== null && isTargeted(device, firmware, targeting)) busy.push({ deviceId: r.id, reason: "in_other_rollout", detail: `already updating in rollout "${r.busy_in}"` });
    else devices.push(device);
  }
  const seed = input.seed ?? firmware.id;
  const plan = planRollout(seed, devices, firmware, targeting, input.strategy);
  const eligible = plan.waves.reduce((n, w) => n + w.deviceIds.length, 0);
  const skipped = [...plan.skipped, ...busy];
  return {
    firmware,
    seed,
    targeting,
    strategy: input.strategy,
    waves: plan.waves,
    skipped,
    targeted: eligible + skipped.length,
    eligible,
    requiresApproval: requireApproval || eligible > config.rolloutApprovalOverDevices,
  };
}

/** The preview as the wizard shows it: sizes, the first devices of each wave, skips by reason, a schedule estimate. */
export function previewOf(plan: FullPlan, settings: Pick<RolloutSettings, "ratePerSec">) {
  const byReason = new Map<string, number>();
  for (const s of plan.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  return {
    firmware: { id: plan.firmware.id, version: plan.firmware.version, deviceType: plan.firmware.deviceType },
    seed: plan.seed,
    targeted: plan.targeted,
    eligible: plan.eligible,
    requiresApproval: plan.requiresApproval,
    approvalThreshold: config.rolloutApprovalOverDevices,
    waves: plan.waves.map((w) => ({
      index: w.index,
      size: w.deviceIds.length,
      deviceIds: w.deviceIds.slice(0, PREVIEW_IDS),
      publishSeconds: Math.ceil(w.deviceIds.length / settings.ratePerSec),
    })),
    skippedByReason: [...byReason].map(([reason, count]) => ({ reason, count })),
    skipped: plan.skipped.slice(0, 200),
  };
}
export type RolloutPreview = ReturnType<typeof previewOf>;
