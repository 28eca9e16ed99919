import { prisma } from "@/server/db/client.ts";
import type { Prisma } from "@/server/db/generated/client.ts";
import type { DeviceFilter, DeviceListInput } from "./schema.ts";

function whereOf(filter: DeviceFilter): Prisma.DeviceWhereInput {
  return {
    ...(filter.type ? { type: filter.type } : {}),
    ...(filter.region ? { region: filter.region } : {}),
    ...(filter.firmwareVersion ? { firmwareVersion: filter.firmwareVersion } : {}),
    ...(filter.search ? { id: { contains: filter.search, mode: "insensitive" as const } } : {}),
    ...(filter.online === "online" ? { shadow: { is: { online: true } } } : {}),
    ...(filter.online === "offline" ? { OR: [{ shadow: { is: { online: false } } }, { shadow: { is: null } }] } : {}),
  };
}

function orderOf(input: DeviceListInput): Prisma.DeviceOrderByWithRelationInput[] {
  const dir = input.direction;
  const primary: Prisma.DeviceOrderByWithRelationInput =
    input.sort === "lastSeenAt" ? { shadow: { lastSeenAt: { sort: dir, nulls: "last" } } } : { [input.sort]: dir };
  // The id tie-breaker keeps pages stable when many rows share the sort value.
  return input.sort === "id" ? [primary] : [primary, { id: "asc" }];
}

export async function listDevices(input: DeviceListInput) {
  const where = whereOf(input);
  const [rows, total] = await Promise.all([
    prisma.device.findMany({
      where,
      orderBy: orderOf(input),
      skip: (input.page - 1) * input.pageSize,
      take: input.pageSize,
      include: { shadow: { select: { online: true, lastSeenAt: true, version: true } } },
    }),
    prisma.device.count({ where }),
  ]);
  return {
    items: rows.map((d) => ({
      id: d.id,
      type: d.type,
      hardwareVersion: d.hardwareVersion,
      region: d.region,
      firmwareVersion: d.firmwareVersion,
      tags: d.tags,
      revoked: d.revokedAt !== null,
      online: d.shadow?.online ?? false,
      lastSeenAt: d.shadow?.lastSeenAt ?? null,
      shadowVersion: d.shadow?.version ?? 0,
    })),
    total,
    page: input.page,
    pageSize: input.pageSize,
  };
}

type Grouped = { value: string; count: number };

function byCountDesc(a: Grouped, b: Grouped) {
  return b.count - a.count || a.value.localeCompare(b.value, undefined, { numeric: true });
}

export async function fleetSummary(filter: DeviceFilter) {
  const where = whereOf(filter);
  const [total, online, revoked, firmware] = await Promise.all([
    prisma.device.count({ where }),
    prisma.device.count({ where: { AND: [where, { shadow: { is: { online: true } } }] } }),
    prisma.device.count({ where: { AND: [where, { revokedAt: { not: null } }] } }),
    prisma.device.groupBy({ by: ["firmwareVersion"], where, _count: { _all: true } }),
  ]);
  return {
    total,
    online,
    revoked,
    byFirmware: firmware.map((g) => ({ value: g.firmwareVersion, count: g._count._all })).sort(byCountDesc),
  };
}

/** The values the filters offer, fleet-wide. */
export async function deviceFacets() {
  const [types, regions, firmware] = await Promise.all([
    prisma.device.groupBy({ by: ["type"], _count: { _all: true } }),
    prisma.device.groupBy({ by: ["region"], _count: { _all: true } }),
    prisma.device.groupBy({ by: ["firmwareVersion"], _count: { _all: true } }),
  ]);
  return {
    types: types.map((g) => ({ value: g.type, count: g._count._all })).sort(byCountDesc),
    regions: regions.map((g) => ({ value: g.region, count: g._count._all })).sort(byCountDesc),
    firmwareVersions: firmware.map((g) => ({ value: g.firmwareVersion, count: g._count._all })).sort(byCountDesc),
  };
}
