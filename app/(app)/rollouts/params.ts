import { z } from "zod";

export const ROLLOUT_STATES = ["awaiting_approval", "running", "paused", "completed", "aborted"] as const;
export const ROLLOUTS_PAGE_SIZE = 20;

const listInput = z.object({
  page: z.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(ROLLOUTS_PAGE_SIZE),
  state: z.enum(ROLLOUT_STATES).optional(),
});
export type RolloutListInput = z.infer<typeof listInput>;

type Params = Record<string, string | string[] | undefined> | URLSearchParams;

function get(params: Params, key: string): string | undefined {
  const value = params instanceof URLSearchParams ? params.get(key) : params[key];
  const one = Array.isArray(value) ? value[0] : value;
  return one === null || one === "" ? undefined : one;
}

/** The list's filter and page live in the URL, so a view can be shared and survives a reload. */
export function rolloutListInputFromParams(params: Params): RolloutListInput {
  const parsed = listInput.safeParse({ state: get(params, "state"), page: Number(get(params, "page") ?? 1) });
  return parsed.success ? parsed.data : listInput.parse({});
}

export function paramsFromRolloutListInput(input: RolloutListInput): URLSearchParams {
  const out = new URLSearchParams();
  if (input.state) out.set("state", input.state);
  if (input.page !== 1) out.set("page", String(input.page));
  return out;
}
