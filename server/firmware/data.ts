import { prisma } from "@/server/db/client.ts";
import type { Firmware as FirmwareRow, Prisma } from "@/server/db/generated/client.ts";
import { AppError } from "@/server/errors.ts";
import type { Firmware, FirmwareList, FirmwareListInput } from "./schema.ts";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The row as the API shows it: who uploaded it by label, not by user id. */
export function firmwareView(row: FirmwareRow): Firmware {
  return {
    id: row.id,
    version: row.version,
    deviceType: row.deviceType,
    compatibleHardware: row.compatibleHardware,
    minVersion: row.minVersion,
    releaseNotes: row.releaseNotes,
    sha256: row.sha256,
    size: row.size,
    fileName: row.fileName,
    signatureKeyId: row.signatureKeyId,
    uploadedBy: row.uploadedByLabel,
    createdAt: row.createdAt,
  };
}

export async function listFirmware(input: FirmwareListInput): Promise<FirmwareList> {
  const where: Prisma.FirmwareWhereInput = input.deviceType ? { deviceType: input.deviceType } : {};
  const [rows, total, types] = await Promise.all([
    prisma.firmware.findMany({
      where,
      // Newest first; the id keeps pages stable for uploads in the same millisecond.
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      skip: (input.page - 1) * input.pageSize,
      take: input.pageSize,
    }),
    prisma.firmware.count({ where }),
    prisma.firmware.groupBy({ by: ["deviceType"], _count: { _all: true }, orderBy: { deviceType: "asc" } }),
  ]);
  return {
    items: rows.map(firmwareView),
    total,
    page: input.page,
    pageSize: input.pageSize,
    deviceTypes: types.map((t) => ({ value: t.deviceType, count: t._count._all })),
  };
}

/** The firmware, or null for an unknown id (including one that is not a UUID at all). */
export async function findFirmware(id: string): Promise<Firmware | null> {
  if (!UUID_PATTERN.test(id)) return null;
  const row = await prisma.firmware.findUnique({ where: { id } });
  return row ? firmwareView(row) : null;
}

export async function getFirmware(id: string): Promise<Firmware> {
  const firmware = await findFirmware(id);
  if (!firmware) throw new AppError("NOT_FOUND", "No such firmware.");
  return firmware;
}

export async function findFirmwareByVersion(deviceType: string, version: string): Promise<Firmware | null> {
  const row = await prisma.firmware.findUnique({ where: { deviceType_version: { deviceType, version } } });
  return row ? firmwareView(row) : null;
}
