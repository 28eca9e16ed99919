import { firmwareListInput, type FirmwareListInput } from "@/server/firmware/schema.ts";

type Params = Record<string, string | string[] | undefined> | URLSearchParams;

function get(params: Params, key: string): string | undefined {
  const value = params instanceof URLSearchParams ? params.get(key) : params[key];
  const one = Array.isArray(value) ? value[0] : value;
  return one === null || one === "" ? undefined : one;
}

/** The page and type filter live in the URL, so a view can be shared and survives a reload. */
export function firmwareInputFromParams(params: Params): FirmwareListInput {
  const parsed = firmwareListInput.safeParse({ deviceType: get(params, "type"), page: Number(get(params, "page") ?? 1), pageSize: 50 });
  return parsed.success ? parsed.data : firmwareListInput.parse({});
}

export function paramsFromFirmwareInput(input: FirmwareListInput): URLSearchParams {
  const out = new URLSearchParams();
  if (input.deviceType) out.set("type", input.deviceType);
  if (input.page !== 1) out.set("page", String(input.page));
  return out;
}
