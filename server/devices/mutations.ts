import { prisma } from "@/server/db/client.ts";
import { recordAudit, type Actor } from "@/server/audit/mutations.ts";
import type { ManifestError, ManifestRow } from "./rules.ts";
import type { ImportResult } from "./schema.ts";

const CHUNK = 10_000;

/**
 * Registers manifest rows in one transaction with set-based SQL. New devices
 * are created with an empty shadow; known devices get their registry fields
 * (type, hardware, region, tags) refreshed. A device's firmware version is not
 * overwritten by a re-import: after registration it is what the device reports.
 */
export async function importDevices(
  rows: ManifestRow[],
  errors: ManifestError[],
  actor: Actor,
  source: { fileName?: string },
): Promise<ImportResult> {
  let created = 0;
  let updated = 0;
  await prisma.$transaction(
    async (tx) => {
      for (let start = 0; start < rows.length; start += CHUNK) {
        const chunk = rows.slice(start, start + CHUNK);
        const ids = chunk.map((r) => r.id);
        const counts = await tx.$queryRaw<Array<{ created: bigint; updated: bigint }>>`
          WITH input AS (
            SELECT * FROM unnest(${ids}::text[], ${chunk.map((r) => r.type)}::text[], ${chunk.map((r) => r.hardwareVersion)}::text[],
                                 ${chunk.map((r) => r.region)}::text[], ${chunk.map((r) => r.firmwareVersion)}::text[],
                                 ${chunk.map((r) => JSON.stringify(r.tags))}::text[])
              AS u(id, type, hardware_version, region, firmware_version, tags_json)
          ), upserted AS (
            INSERT INTO devices (id, type, hardware_version, region, firmware_version, tags, updated_at)
            SELECT id, type, hardware_version, region, firmware_version,
                   ARRAY(SELECT jsonb_array_elements_text(tags_json::jsonb)), now()
            FROM input
            ON CONFLICT (id) DO UPDATE
              SET type = EXCLUDED.type, hardware_version = EXCLUDED.hardware_version,
                  region = EXCLUDED.region, tags = EXCLUDED.tags, updated_at = now()
              WHERE (devices.type, devices.hardware_version, devices.region, devices.tags)
                    IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.hardware_version, EXCLUDED.region, EXCLUDED.tags)
            RETURNING (xmax = 0) AS inserted
          )
          SELECT count(*) FILTER (WHERE inserted) AS created, count(*) FILTER (WHERE NOT inserted) AS updated FROM upserted`;
        created += Number(counts[0]?.created ?? 0);
        updated += Number(counts[0]?.updated ?? 0);
        await tx.$executeRaw`
          INSERT INTO device_shadows (device_id) SELECT unnest(${ids}::text[]) ON CONFLICT (device_id) DO NOTHING`;
      }
      await recordAudit(tx, {
        actor,
        action: "device.import",
        target: { type: "fleet", id: "registry" },
        data: {
          fileName: source.fileName ?? null,
          rows: rows.length,
          created,
          updated,
          rejectedLines: errors.length,
        },
      });
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
  return { created, updated, unchanged: rows.length - created - updated, errors };
}
