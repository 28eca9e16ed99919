// Where the simulated device ids come from: the registry (--ids-from-db) or a
// generated range (--prefix, for tests). A list (--ids) needs no helper.
import pg from "pg";
import type { DeviceSeed } from "./fleet.ts";

/** Registered, non-revoked devices in id order; `limit` null takes them all. */
export async function devicesFromDb(databaseUrl: string, limit: number | null): Promise<DeviceSeed[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // region too (beyond the bare id list): devices report a time zone that fits it.
    const { rows } = await client.query<{ id: string; type: string; firmware_version: string; region: string }>(
      "SELECT id, type, firmware_version, region FROM devices WHERE revoked_at IS NULL ORDER BY id LIMIT $1",
      [limit],
    );
    return rows.map((r) => ({ id: r.id, type: r.type, firmwareVersion: r.firmware_version, region: r.region }));
  } finally {
    await client.end();
  }
}

/** `P-00001` … `P-0000N`. */
export function generatedDevices(prefix: string, count: number, seed: Omit<DeviceSeed, "id"> = {}): DeviceSeed[] {
  const width = Math.max(5, String(count).length);
  return Array.from({ length: count }, (_, i) => ({ ...seed, id: `${prefix}-${String(i + 1).padStart(width, "0")}` }));
}
