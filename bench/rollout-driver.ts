// The rollout benchmark's fleet: devices registered set-based, and a driver
// that plays them. A device "receives" its shadow/delta when the driver reads
// the committed mqtt_outbox row (the row the outbox drainer would publish),
// "installs" for a random delay, then reports `completed` on the target
// version: the driver writes what the ingest stores for that report (shadow
// version + 1, reported.firmware, the metadata timestamps in whole unix
// seconds, last_seen_at, the device's firmware version), many devices per
// statement. It does not go through MQTT or the ingest: the benchmark is about
// the controller, and the driver's own work is kept out of its measurement
// (see rollout-probe.ts, Mutex).
import pg from "pg";
import { SYNC_DELTA_MAX_VERSIONS } from "@/server/shadow/document-rules.ts";
import { ageShadows, DEVICE_FIRMWARE } from "./lib/database.ts";
import { sleep } from "./lib/proc.ts";
import type { Mutex } from "./rollout-probe.ts";

export const DEVICE_TYPE = "bench-sensor";

export function benchDeviceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench-${String(i + 1).padStart(6, "0")}`);
}

export type BenchFirmware = { id: string; version: string; sha256: string; size: number };

/**
 * Registers `count` devices with their shadows, set-based, and one firmware
 * image for them (a registry row with a made-up SHA-256 and size: no image is
 * downloaded in this benchmark).
 *
 * The rows are what importDevices leaves (a device row, an empty shadow row),
 * then each device is marked as a device that has connected and reported its
 * firmware: reported.firmware = { version: 1.0.0, status: idle } with its
 * metadata timestamps and that change in the kept history, version 1,
 * online, last seen now. Without that, every
 * device would count as "potentially offline" and be left out of its wave's
 * gate, which would then open on the first success. `aged` instead puts every
 * shadow in the state of bench/lib/database.ts ageShadows (as after 100
 * accepted updates: replay window, kept changes, desired firmware).
 */
export async function seedFleet(url: string, count: number, targetVersion: string, opts: { aged: boolean }): Promise<BenchFirmware> {
  const c = new pg.Client({ connectionString: url, application_name: "fleetwave-bench-seed" });
  await c.connect();
  try {
    await c.query("BEGIN");
    await c.query(
      `INSERT INTO devices (id, type, hardware_version, region, firmware_version, tags, updated_at)
       SELECT id, $2, 'rev-a', 'eu-west', $3, ARRAY['bench'], now() FROM unnest($1::text[]) AS id`,
      [benchDeviceIds(count), DEVICE_TYPE, DEVICE_FIRMWARE],
    );
    await c.query(`INSERT INTO device_shadows (device_id) SELECT id FROM devices`);
    const { rows } = await c.query<BenchFirmware>(
      `INSERT INTO firmware (id, version, device_type, compatible_hardware, sha256, size, file_name, uploaded_by_label)
       VALUES (gen_random_uuid(), $1, $2, ARRAY[]::text[], encode(sha256(convert_to('fleetwave-bench-' || $1, 'UTF8')), 'hex'), 4194304, $2 || '-' || $1 || '.bin', 'bench')
       RETURNING id::text, version, sha256, size`,
      [targetVersion, DEVICE_TYPE],
    );
    if (!opts.aged) {
      const now = Math.floor(Date.now() / 1000);
      await c.query(
        `UPDATE device_shadows SET version = 1,
                reported = jsonb_build_object('firmware', jsonb_build_object('version', $1::text, 'status', 'idle')),
                changes = jsonb_build_array(jsonb_build_object('v', 1, 'reported', jsonb_build_object('firmware', jsonb_build_object('version', $1::text, 'status', 'idle')))),
                metadata = jsonb_build_object('reported', jsonb_build_object('firmware', jsonb_build_object(
                  'version', jsonb_build_object('timestamp', $2::bigint), 'status', jsonb_build_object('timestamp', $2::bigint)))),
                online = true, last_seen_at = now(), updated_at = now()`,
        [DEVICE_FIRMWARE, now],
      );
    }
    await c.query("COMMIT");
    if (opts.aged) await ageShadows(url);
    await c.query("VACUUM ANALYZE devices");
    await c.query("VACUUM ANALYZE device_shadows");
    return rows[0]!;
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await c.end();
  }
}

// What the ingest stores when a device reports `completed` on the target
// version (server/shadow/batch-sql.ts): the shadow (version + 1, the reported
// firmware, its metadata stamps, the change appended to the kept history of
// the last SYNC_DELTA_MAX_VERSIONS versions, presence) and the device's
// firmware version. The controller reads the stamps and the history to tell a
// new report from an old one.
const REPORT_COMPLETED = `
WITH u AS (SELECT unnest($1::text[]) AS id),
shadows AS (
  UPDATE device_shadows AS s SET
      version = s.version + 1,
      reported = jsonb_set(s.reported, '{firmware}', jsonb_build_object('version', $2::text, 'status', 'completed')),
      metadata = jsonb_set(s.metadata::jsonb, '{reported}', coalesce(s.metadata::jsonb->'reported', '{}'::jsonb) || jsonb_build_object('firmware', jsonb_build_object(
                   'version', jsonb_build_object('timestamp', $3::bigint), 'status', jsonb_build_object('timestamp', $3::bigint)))),
      changes = (SELECT coalesce(jsonb_agg(k.c ORDER BY k.n), '[]'::jsonb) FROM (
                   SELECT c, n FROM jsonb_array_elements(s.changes::jsonb || jsonb_build_array(jsonb_build_object('v', s.version + 1,
                                    'reported', jsonb_build_object('firmware', jsonb_build_object('version', $2::text, 'status', 'completed')))))
                                    WITH ORDINALITY AS x(c, n)
                    ORDER BY n DESC LIMIT ${SYNC_DELTA_MAX_VERSIONS}) k),
      online = true, last_seen_at = now(), updated_at = now()
    FROM u WHERE s.device_id = u.id
  RETURNING 1
)
UPDATE devices AS d SET firmware_version = $2, updated_at = now() FROM u WHERE d.id = u.id AND d.firmware_version <> $2`;

export type DriverOptions = {
  pool: pg.Pool;
  targetVersion: string;
  /** A device reports completed this long (uniformly random in [min, max] ms) after it received its delta. */
  minDelayMs: number;
  maxDelayMs: number;
  tickMs: number;
  seed: number;
  mutex: Mutex | null;
};

/** Small deterministic PRNG (mulberry32): the same seed gives the same install times. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class DeviceDriver {
  /** Wall clock (ms) when each device's delta was read / its completed report committed. */
  readonly receivedAt = new Map<string, number>();
  readonly reportedAt = new Map<string, number>();
  readonly reportBatches: number[] = [];
  /** Deltas read that carried something other than the target (none expected). */
  unexpectedDeltas = 0;
  readonly unexpectedSamples: Array<{ id: string; deviceId: string; version: string | null }> = [];
  statements = 0;
  dbMs = 0;
  private lastOutboxId = "0";
  private pending: Array<{ id: string; at: number }> = [];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly rand: () => number;
  error: Error | null = null;

  constructor(private readonly o: DriverOptions) {
    this.rand = random(o.seed);
  }

  private async db<T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<T>> {
    const run = async () => {
      const t0 = performance.now();
      try {
        return await this.o.pool.query<T>(text, values);
      } finally {
        this.statements++;
        this.dbMs += performance.now() - t0;
      }
    };
    return this.o.mutex ? this.o.mutex.run("driver", run) : run();
  }

  /** Skips outbox rows already there (none in a fresh database, but a rerun must not replay them). */
  async startAfterCurrentOutbox(): Promise<void> {
    const { rows } = await this.o.pool.query<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM mqtt_outbox`);
    this.lastOutboxId = rows[0]!.id;
  }

  start() {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.tick();
        } catch (err) {
          this.error = err as Error;
          return;
        }
        await sleep(this.o.tickMs);
      }
    })();
  }

  async stop() {
    this.stopped = true;
    await this.loop;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  private async tick() {
    const { rows } = await this.db<{ id: string; device_id: string; v: string | null }>(
      `SELECT o.id::text AS id, o.device_id, o.payload->'state'->'firmware'->>'version' AS v FROM mqtt_outbox o
        WHERE o.id > $1::bigint AND o.topic LIKE '%/shadow/delta' ORDER BY o.id`,
      [this.lastOutboxId],
    );
    const readAt = Date.now();
    for (const r of rows) {
      this.lastOutboxId = r.id;
      if (r.v !== this.o.targetVersion || this.receivedAt.has(r.device_id)) {
        this.unexpectedDeltas++;
        if (this.unexpectedSamples.length < 5) this.unexpectedSamples.push({ id: r.id, deviceId: r.device_id, version: r.v });
        continue;
      }
      this.receivedAt.set(r.device_id, readAt);
      this.pending.push({ id: r.device_id, at: readAt + this.o.minDelayMs + this.rand() * (this.o.maxDelayMs - this.o.minDelayMs) });
    }
    const now = Date.now();
    const due = this.pending.filter((p) => p.at <= now).map((p) => p.id);
    if (due.length === 0) return;
    this.pending = this.pending.filter((p) => p.at > now);
    await this.db(REPORT_COMPLETED, [due, this.o.targetVersion, Math.floor(Date.now() / 1000)]);
    const committedAt = Date.now();
    for (const id of due) this.reportedAt.set(id, committedAt);
    this.reportBatches.push(due.length);
  }
}
