// Direct access to the product's database (E2E_DATABASE_URL, set by
// e2e/run.ts) for arranging what a test needs: users with a known password and
// devices in states the UI cannot create (e.g. online). Never for assertions
// the UI can make.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { hashPassword } from "../../server/auth/password.ts";
import type { Role } from "../../server/auth/permissions.ts";

export type TestUser = { id: string; email: string; name: string; role: Role; password: string };

export type SeedDevice = {
  id: string;
  type: string;
  hardwareVersion?: string;
  region: string;
  firmwareVersion: string;
  tags?: string[];
  online?: boolean;
};

export function openDatabase(): pg.Pool {
  const connectionString = process.env.E2E_DATABASE_URL;
  if (!connectionString) throw new Error("E2E_DATABASE_URL is not set: run the suite with `npm run test:e2e`");
  return new pg.Pool({ connectionString, max: 2 });
}

export const TEST_PASSWORD = "e2e-correct-horse-battery";

// Hashing is deliberately slow (scrypt); one hash serves every user of a worker.
let passwordHash: Promise<string> | undefined;

export async function insertUser(db: pg.Pool, user: { email: string; name: string; role: Role }): Promise<TestUser> {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  const id = randomUUID();
  await db.query(
    `INSERT INTO users (id, email, name, role, password_hash, updated_at) VALUES ($1, $2, $3, $4::"Role", $5, now())`,
    [id, user.email, user.name, user.role, await passwordHash],
  );
  return { id, ...user, password: TEST_PASSWORD };
}

/** Registers devices with their shadow rows in one statement each, as an import would. */
export async function insertDevices(db: pg.Pool, devices: SeedDevice[]): Promise<void> {
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO devices (id, type, hardware_version, region, firmware_version, tags, updated_at)
       SELECT id, type, hw, region, fw, ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(id, type, hw, region, fw, tags)`,
      [
        devices.map((d) => d.id),
        devices.map((d) => d.type),
        devices.map((d) => d.hardwareVersion ?? "rev-a"),
        devices.map((d) => d.region),
        devices.map((d) => d.firmwareVersion),
        devices.map((d) => JSON.stringify(d.tags ?? [])),
      ],
    );
    await client.query(
      `INSERT INTO device_shadows (device_id, online, last_seen_at)
       SELECT id, online, CASE WHEN online THEN now() END FROM unnest($1::text[], $2::bool[]) AS u(id, online)`,
      [devices.map((d) => d.id), devices.map((d) => d.online ?? false)],
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
