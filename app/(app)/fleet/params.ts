import { deviceListInput, type DeviceListInput } from "@/server/devices/schema.ts";

type Params = Record<string, string | string[] | undefined> | URLSearchParams;

function get(params: Params, key: string): string | undefined {
  const value = params instanceof URLSearchParams ? params.get(key) : params[key];
  const one = Array.isArray(value) ? value[0] : value;
  return one === null || one === "" ? undefined : one;
}

/** The fleet view's state lives in the URL, so a view can be shared and survives a reload. */
export function fleetInputFromParams(params: Params): DeviceListInput {
  const parsed = deviceListInput.safeParse({
    type: get(params, "type"),
    region: get(params, "region"),
    firmwareVersion: get(params, "firmware"),
    online: get(params, "online") ?? "any",
    search: get(params, "q"),
    page: Number(get(params, "page") ?? 1),
    pageSize: Number(get(params, "size") ?? 50),
    sort: get(params, "sort") ?? "id",
    direction: get(params, "dir") ?? "asc",
  });
  return parsed.success ? parsed.data : deviceListInput.parse({});
}

export function paramsFromFleetInput(input: DeviceListInput): URLSearchParams {
  const out = new URLSearchParams();
  if (input.type) out.set("type", input.type);
  if (input.region) out.set("region", input.region);
  if (input.firmwareVersion) out.set("firmware", input.firmwareVersion);
  if (input.online !== "any") out.set("online", input.online);
  if (input.search) out.set("q", input.search);
  if (input.page !== 1) out.set("page", String(input.page));
  if (input.pageSize !== 50) out.set("size", String(input.pageSize));
  if (input.sort !== "id") out.set("sort", input.sort);
  if (input.direction !== "asc") out.set("dir", input.direction);
  return out;
}

export function summaryInputOf(input: DeviceListInput) {
  return { type: input.type, region: input.region, firmwareVersion: input.firmwareVersion, online: input.online, search: input.search };
}
