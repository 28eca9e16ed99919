import { z } from "zod";
import { EXECUTION_STATES, type ExecutionState } from "@/server/rollouts/execution-rules.ts";

export { EXECUTION_STATES };

/** Devices that need a look: failed for good, timed out, or failed and waiting to retry. */
export const FAILING_STATES: ExecutionState[] = ["failed", "timed_out", "retry_wait"];
export const FAILING_LIMIT = 20;
export const DEVICES_PAGE_SIZE = 25;
/** Live events carry the changes; while a rollout runs its page polls too, in case an event is lost. */
export const RUNNING_REFRESH_MS = 5_000;

export function failingInput(id: string) {
  return { id, page: 1, pageSize: FAILING_LIMIT, states: FAILING_STATES };
}

const devicesFilter = z.object({
  wave: z.number().int().min(0).optional(),
  state: z.enum(EXECUTION_STATES).optional(),
  page: z.number().int().min(1).max(1_000_000).default(1),
});
export type DevicesFilter = z.infer<typeof devicesFilter>;

type Params = Record<string, string | string[] | undefined> | URLSearchParams;

function get(params: Params, key: string): string | undefined {
  const value = params instanceof URLSearchParams ? params.get(key) : params[key];
  const one = Array.isArray(value) ? value[0] : value;
  return one === null || one === "" ? undefined : one;
}

/** The devices table's filter lives in the URL (`?wave=2&state=failed&page=3`, waves counted from 1 as on the page). */
export function devicesFilterFromParams(params: Params): DevicesFilter {
  const wave = get(params, "wave");
  const parsed = devicesFilter.safeParse({ wave: wave === undefined ? undefined : Number(wave) - 1, state: get(params, "state"), page: Number(get(params, "page") ?? 1) });
  return parsed.success ? parsed.data : devicesFilter.parse({});
}

export function paramsFromDevicesFilter(filter: DevicesFilter): URLSearchParams {
  const out = new URLSearchParams();
  if (filter.wave !== undefined) out.set("wave", String(filter.wave + 1));
  if (filter.state) out.set("state", filter.state);
  if (filter.page !== 1) out.set("page", String(filter.page));
  return out;
}

export function devicesInput(id: string, filter: DevicesFilter) {
  return { id, page: filter.page, pageSize: DEVICES_PAGE_SIZE, wave: filter.wave, states: filter.state ? [filter.state] : undefined };
}
