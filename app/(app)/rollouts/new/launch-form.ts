// The launch wizard's form: what the engineer typed (strings, percents) to the
// API's input (numbers, fractions), checked with the same schema the server
// uses so errors appear beside the field before anything is sent.
import type { z } from "zod";
import { DEFAULT_SETTINGS, launchInputSchema, planInputSchema, type LaunchInput } from "@/server/rollouts/schema.ts";

/** The firmware the wizard offers: the registry's newest 200 images. */
export const FIRMWARE_CHOICES = { page: 1, pageSize: 200 };

export type StrategyKind = "canary" | "equal" | "explicit";

export type LaunchForm = {
  firmwareId: string;
  name: string;
  regions: string;
  hardware: string;
  tags: string;
  versionMin: string;
  versionMax: string;
  strategy: StrategyKind;
  canaryPct: string;
  stagedPct: string;
  waves: string;
  sizes: string;
  successGatePct: string;
  maxFailurePct: string;
  minSample: string;
  timeoutMin: string;
  maxRetries: string;
  ratePerSec: string;
  windowCron: string;
  windowDurationMin: string;
  windowTimeZone: string;
  requireApproval: boolean;
};

/** Keys are the API's paths ("settings.successGate"); a bare section key ("settings") holds what the server said about the section. */
export type FieldErrors = Record<string, string[] | undefined>;

const DEFAULT_STRATEGY = planInputSchema.shape.strategy.parse(undefined);
const percent = (fraction: number) => String(Math.round(fraction * 1000) / 10);

export function initialForm(firmwareId = ""): LaunchForm {
  const s = DEFAULT_SETTINGS;
  return {
    firmwareId,
    name: "",
    regions: "",
    hardware: "",
    tags: "",
    versionMin: "",
    versionMax: "",
    strategy: "canary",
    canaryPct: DEFAULT_STRATEGY.kind === "canary" ? String(DEFAULT_STRATEGY.canaryPct) : "1",
    stagedPct: DEFAULT_STRATEGY.kind === "canary" ? String(DEFAULT_STRATEGY.stagedPct) : "10",
    waves: "5",
    sizes: "",
    successGatePct: percent(s.successGate),
    maxFailurePct: percent(s.maxFailureRate),
    minSample: String(s.minSample),
    timeoutMin: String(s.timeoutMin),
    maxRetries: String(s.maxRetries),
    ratePerSec: String(s.ratePerSec),
    windowCron: "",
    windowDurationMin: "240",
    windowTimeZone: "UTC",
    requireApproval: false,
  };
}

/** "eu-west, us-east" → ["eu-west", "us-east"]: the list inputs take comma-separated values. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(",").map((v) => v.trim()).filter(Boolean))];
}

export function toggleInList(text: string, value: string): string {
  const list = splitList(text);
  return (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]).join(", ");
}

/** Fractions in the API, percents on the screen: bounds in messages are shown as the engineer typed them. */
const PERCENT_FIELDS = new Set(["settings.successGate", "settings.maxFailureRate"]);

function messageOf(issue: z.core.$ZodIssue, key: string): string {
  const scale = PERCENT_FIELDS.has(key) ? 100 : 1;
  const unit = scale === 100 ? "%" : "";
  if (issue.code === "too_small" && issue.origin === "number" && typeof issue.minimum === "number") return `Enter ${issue.inclusive ? "at least" : "more than"} ${issue.minimum * scale}${unit}.`;
  if (issue.code === "too_big" && issue.origin === "number" && typeof issue.maximum === "number") return `Enter ${issue.inclusive ? "at most" : "less than"} ${issue.maximum * scale}${unit}.`;
  if (issue.code === "invalid_type" && issue.expected === "int") return "Enter a whole number.";
  return issue.message.charAt(0).toUpperCase() + issue.message.slice(1);
}

type Built = { input: LaunchInput | null; errors: FieldErrors; raw: { firmwareId: string; targeting: unknown; strategy: unknown } };

/** The launch input, or the errors by field. */
export function buildLaunchInput(form: LaunchForm): Built {
  const errors: FieldErrors = {};
  const add = (key: string, message: string) => (errors[key] = [...(errors[key] ?? []), message]);
  const number = (key: string, text: string, scale = 1): number => {
    const value = text.trim() === "" ? Number.NaN : Number(text);
    if (Number.isNaN(value)) add(key, "Enter a number.");
    return value / scale;
  };

  let strategy: unknown;
  if (form.strategy === "canary") strategy = { kind: "canary", canaryPct: number("strategy.canaryPct", form.canaryPct), stagedPct: number("strategy.stagedPct", form.stagedPct) };
  else if (form.strategy === "equal") strategy = { kind: "equal", waves: number("strategy.waves", form.waves) };
  else {
    const parts = form.sizes.split(/[,\s]+/).filter(Boolean);
    const sizes = parts.map(Number);
    if (parts.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) add("strategy.sizes", "Enter whole numbers above 0, separated by commas, e.g. 10, 100, 1000.");
    strategy = { kind: "explicit", sizes };
  }

  const cron = form.windowCron.trim();
  const raw = {
    firmwareId: form.firmwareId,
    name: form.name,
    targeting: {
      regions: splitList(form.regions),
      hardware: splitList(form.hardware),
      tags: splitList(form.tags),
      versionMin: form.versionMin.trim() || undefined,
      versionMax: form.versionMax.trim() || undefined,
    },
    strategy,
    settings: {
      ...DEFAULT_SETTINGS,
      successGate: number("settings.successGate", form.successGatePct, 100),
      maxFailureRate: number("settings.maxFailureRate", form.maxFailurePct, 100),
      minSample: number("settings.minSample", form.minSample),
      timeoutMin: number("settings.timeoutMin", form.timeoutMin),
      maxRetries: number("settings.maxRetries", form.maxRetries),
      ratePerSec: number("settings.ratePerSec", form.ratePerSec),
      window: cron ? { cron, durationMin: number("settings.window.durationMin", form.windowDurationMin), timeZone: form.windowTimeZone.trim() || "UTC" } : null,
    },
    requireApproval: form.requireApproval,
  };
  if (!form.firmwareId) add("firmwareId", "Choose the firmware to roll out.");

  const parsed = launchInputSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.map(String).join(".") || "form";
      if (errors[key]) continue; // the first message per field is enough, and ours above are clearer
      if (key === "firmwareId" && !form.firmwareId) continue;
      add(key, messageOf(issue, key));
    }
  }
  return { input: Object.keys(errors).length === 0 && parsed.success ? parsed.data : null, errors, raw };
}

/** The preview needs no name and no thresholds but the rate. */
const PREVIEW_FIELDS = /^(firmwareId|targeting|strategy|settings\.ratePerSec)/;

export type PreviewInput = Pick<LaunchInput, "firmwareId" | "targeting" | "strategy" | "requireApproval"> & { settings: { ratePerSec: number } };

export function buildPreviewInput(form: LaunchForm): { input: PreviewInput | null; errors: FieldErrors } {
  const built = buildLaunchInput(form);
  const errors = Object.fromEntries(Object.entries(built.errors).filter(([key]) => PREVIEW_FIELDS.test(key)));
  if (Object.keys(errors).length > 0) return { input: null, errors };
  // Other fields may still be wrong (a missing name): the planned part alone is valid here.
  const plan = planInputSchema.safeParse(built.raw);
  if (!plan.success) return { input: null, errors: { form: [plan.error.issues[0]?.message ?? "Check the form."] } };
  const { firmwareId, targeting, strategy } = plan.data;
  return { input: { firmwareId, targeting, strategy, requireApproval: form.requireApproval, settings: { ratePerSec: Number(form.ratePerSec) } }, errors: {} };
}

/** What the server said, by field: zod's flattened errors and AppError field errors both arrive in `data.fieldErrors`. */
export function serverFieldErrors(error: unknown): FieldErrors {
  return ((error as { data?: { fieldErrors?: FieldErrors | null } } | null)?.data?.fieldErrors ?? {}) as FieldErrors;
}
