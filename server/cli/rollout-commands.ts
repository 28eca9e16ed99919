// `npm run fleet -- rollout …`: rollouts from a release pipeline. The CLI acts
// as a named engineer (FLEETWAVE_ACTOR or --as, an e-mail of a user), checked
// against the same permission table as the UI and audited the same way.
import { parseArgs } from "node:util";
import { getPool } from "@/server/db/client.ts";
import { actingUser, CliUsageError } from "./actor.ts";
import { listRollouts, rolloutStatus } from "@/server/rollouts/data.ts";
import { abortRollout, advanceWave, approveRollout, launchRollout, pauseRollout, resumeRollout, retryFailed } from "@/server/rollouts/mutations.ts";
import { launchInputSchema } from "@/server/rollouts/schema.ts";

export const ROLLOUT_USAGE = `fleet rollout launch --firmware V --type T [--region R…] [--hardware H…] [--tag T…] [--min-version V] [--max-version V]
                     [--waves N | --canary P --staged P | --sizes N,N,…] [--success-gate P] [--max-failure P]
                     [--timeout MIN] [--retries N] [--rate N] [--window-cron CRON --window-minutes M --window-tz TZ]
                     [--name NAME] [--require-approval] [--json]
fleet rollout pause|resume ID [--reason TEXT]
fleet rollout abort ID [--revert] [--reason TEXT]
fleet rollout approve|advance|retry ID
fleet rollout status ID [--json]
fleet rollout list [--json]
  (P are percents; the CLI acts as FLEETWAVE_ACTOR or --as EMAIL, a user whose role allows the action)`;

const pct = (name: string, raw: string | undefined, fraction: boolean) => {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new CliUsageError(`--${name} takes a percent between 0 and 100, got "${raw}"`);
  return fraction ? value / 100 : value;
};
const whole = (name: string, raw: string | undefined) => {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new CliUsageError(`--${name} takes a whole number, got "${raw}"`);
  return value;
};

async function launch(argv: string[]) {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      firmware: { type: "string" }, type: { type: "string" }, region: { type: "string", multiple: true }, hardware: { type: "string", multiple: true },
      tag: { type: "string", multiple: true }, "min-version": { type: "string" }, "max-version": { type: "string" },
      waves: { type: "string" }, canary: { type: "string" }, staged: { type: "string" }, sizes: { type: "string" },
      "success-gate": { type: "string" }, "max-failure": { type: "string" }, timeout: { type: "string" }, retries: { type: "string" }, rate: { type: "string" },
      "window-cron": { type: "string" }, "window-minutes": { type: "string" }, "window-tz": { type: "string" },
      name: { type: "string" }, "require-approval": { type: "boolean" }, json: { type: "boolean" }, as: { type: "string" },
    },
  });
  if (!v.firmware || !v.type) throw new CliUsageError("rollout launch needs --firmware VERSION and --type DEVICE_TYPE");
  const actor = await actingUser(v.as, "rollout:launch");
  const { rows } = await getPool().query<{ id: string }>("SELECT id FROM firmware WHERE version = $1 AND device_type = $2", [v.firmware, v.type]);
  if (!rows[0]) throw new CliUsageError(`no firmware ${v.firmware} for device type ${v.type} in the registry (upload it first: fleet firmware upload)`);
  const strategies = [v.waves !== undefined, v.canary !== undefined || v.staged !== undefined, v.sizes !== undefined].filter(Boolean).length;
  if (strategies > 1) throw new CliUsageError("choose one of --waves N, --canary P --staged P, --sizes N,N,…");
  const strategy =
    v.waves !== undefined
      ? { kind: "equal" as const, waves: whole("waves", v.waves) }
      : v.sizes !== undefined
        ? { kind: "explicit" as const, sizes: v.sizes.split(",").map((s) => whole("sizes", s.trim())) }
        : { kind: "canary" as const, canaryPct: pct("canary", v.canary, false) ?? 1, stagedPct: pct("staged", v.staged, false) ?? 10 };
  const window = v["window-cron"]
    ? { cron: v["window-cron"], durationMin: whole("window-minutes", v["window-minutes"] ?? "60"), timeZone: v["window-tz"] ?? "UTC" }
    : null;
  const settings = Object.fromEntries(
    Object.entries({
      successGate: pct("success-gate", v["success-gate"], true),
      maxFailureRate: pct("max-failure", v["max-failure"], true),
      timeoutMin: whole("timeout", v.timeout),
      maxRetries: whole("retries", v.retries),
      ratePerSec: whole("rate", v.rate),
      window,
    }).filter(([, value]) => value !== undefined),
  );
  const parsed = launchInputSchema.safeParse({
    name: v.name ?? `${v.type} ${v.firmware}`,
    firmwareId: rows[0].id,
    targeting: { regions: v.region ?? [], hardware: v.hardware ?? [], tags: v.tag ?? [], versionMin: v["min-version"], versionMax: v["max-version"] },
    strategy,
    settings,
    requireApproval: v["require-approval"] ?? false,
  });
  if (!parsed.success) {
    throw new CliUsageError(parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("\n"));
  }
  const result = await launchRollout(parsed.data, actor);
  if (v.json) console.log(JSON.stringify(await rolloutStatus(result.id), null, 2));
  else console.log(`rollout ${result.id} ${result.state === "running" ? "started" : "is waiting for another engineer's approval"}`);
  return 0;
}

function printStatus(s: Awaited<ReturnType<typeof rolloutStatus>>) {
  console.log(`${s.name} (${s.id})\nstate: ${s.state}${s.pausedReason ? ` — ${s.pausedReason}` : ""}\nfirmware: ${s.firmware.deviceType} ${s.firmware.version}`);
  if (s.gate) console.log(`gate: ${s.gate}`);
  console.log("wave  state      size  succeeded  failed  timed out  in progress  pending  offline");
  for (const w of s.waves) {
    const cells = [w.index + 1, w.state, w.size, w.succeeded, w.failed, w.timedOut, w.inProgress, w.pending, w.offline];
    const widths = [4, 9, 5, 10, 7, 10, 12, 8, 8];
    console.log(cells.map((c, i) => String(c).padStart(widths[i]!)).join(" "));
  }
}

export async function rolloutCommand(sub: string | undefined, argv: string[]): Promise<number> {
  if (sub === "launch") return launch(argv);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" }, reason: { type: "string" }, revert: { type: "boolean" }, as: { type: "string" } },
  });
  if (sub === "list") {
    const list = await listRollouts({ page: 1, pageSize: 50 });
    if (values.json) console.log(JSON.stringify(list.items, null, 2));
    else for (const r of list.items) console.log(`${r.id}  ${r.state.padEnd(17)} ${r.deviceType} ${r.firmwareVersion}  ${r.succeeded}/${r.deviceCount} succeeded, ${r.failed} failed  ${r.name}`);
    return 0;
  }
  const id = positionals[0];
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) throw new CliUsageError(`usage:\n${ROLLOUT_USAGE}`);
  switch (sub) {
    case "status": {
      const status = await rolloutStatus(id);
      if (values.json) console.log(JSON.stringify(status, null, 2));
      else printStatus(status);
      return 0;
    }
    case "pause":
      await pauseRollout(id, await actingUser(values.as, "rollout:pause"), values.reason);
      break;
    case "resume":
      await resumeRollout(id, await actingUser(values.as, "rollout:pause"), values.reason);
      break;
    case "abort":
      await abortRollout(id, await actingUser(values.as, "rollout:launch"), { revert: values.revert ?? false, reason: values.reason });
      break;
    case "approve":
      await approveRollout(id, await actingUser(values.as, "rollout:launch"));
      break;
    case "advance":
      await advanceWave(id, await actingUser(values.as, "rollout:launch"), values.reason);
      break;
    case "retry":
      await retryFailed(id, await actingUser(values.as, "rollout:launch"));
      break;
    default:
      throw new CliUsageError(`unknown rollout command "${sub ?? ""}"\nusage:\n${ROLLOUT_USAGE}`);
  }
  const status = await rolloutStatus(id);
  if (values.json) console.log(JSON.stringify(status, null, 2));
  else console.log(`rollout ${id}: ${status.state}${status.pausedReason ? ` — ${status.pausedReason}` : ""}`);
  return 0;
}
