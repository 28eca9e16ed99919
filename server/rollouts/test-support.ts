// Helpers for the rollout integration tests: the firmware download route
// served over real HTTP (devices fetch their signed links from it), firmware
// and devices registered through the product's own mutations, and polling
// with a deadline.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { importDevices } from "@/server/devices/mutations.ts";
import { uploadFirmware } from "@/server/firmware/mutations.ts";

export const TEST_ACTOR = { type: "cli" as const, id: null, label: "cli:rollout-test" };

export type DownloadServer = {
  /** PUBLIC_URL for the worker that signs the links. */
  url: string;
  /** Answers given, per device named in the link: e.g. { "dev-1": [200] }. */
  answers: Map<string, number[]>;
  close(): Promise<void>;
};

/**
 * The download route (`app/api/firmware/[id]/download/route.ts`) behind a
 * node:http server: each request becomes the Web Request the route takes,
 * and its Response is streamed back.
 */
export async function startDownloadServer(): Promise<DownloadServer> {
  const { GET } = await import("@/app/api/firmware/[id]/download/route.ts");
  const answers = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
      const match = /^\/api\/firmware\/([^/]+)\/download$/.exec(url.pathname);
      let status = 404;
      try {
        if (req.method !== "GET" || !match) {
          res.writeHead(404).end();
          return;
        }
        const response = await GET(new Request(url, { method: "GET" }), { params: Promise.resolve({ id: decodeURIComponent(match[1]!) }) });
        status = response.status;
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (response.body) Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res);
        else res.end();
      } catch (err) {
        status = 500;
        res.writeHead(500).end((err as Error).message);
      } finally {
        const device = url.searchParams.get("device") ?? "";
        answers.set(device, [...(answers.get(device) ?? []), status]);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Registers devices (with their empty shadows) as a manifest import would. */
export async function registerDevices(ids: string[], type: string, firmwareVersion: string): Promise<void> {
  const rows = ids.map((id, i) => ({ line: i + 2, id, type, hardwareVersion: "rev-a", region: "eu-west", firmwareVersion, tags: [] }));
  await importDevices(rows, [], TEST_ACTOR, { fileName: `${type}.csv` });
}

/** Uploads a random image of `size` bytes as firmware `version` for `deviceType`; FIRMWARE_DIR must be set. */
export async function uploadTestFirmware(deviceType: string, version: string, size = 64 * 1024) {
  return uploadFirmware({ bytes: randomBytes(size), fileName: `${deviceType}-${version}.bin`, version, deviceType, compatibleHardware: [] }, TEST_ACTOR);
}

/** `count` device ids `prefix-001`… */
export const deviceIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(3, "0")}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads until `ok` holds and returns that value; throws with the last value read when `timeoutMs` passes first. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last seen: ${JSON.stringify(value)?.slice(0, 2000)}`);
    await sleep(everyMs);
  }
}

// --- reading what the controller did ----------------------------------------

type Db = Pick<import("pg").Pool, "query">;

export async function rolloutRow(db: Db, id: string) {
  const { rows } = await db.query<{ state: string; currentWave: number; pausedReason: string | null }>(
    `SELECT state::text AS state, current_wave AS "currentWave", paused_reason AS "pausedReason" FROM rollouts WHERE id = $1`,
    [id],
  );
  return rows[0]!;
}

export async function waveRows(db: Db, id: string) {
  const { rows } = await db.query<{ index: number; state: string; gatePassedAt: Date | null; gateText: string | null }>(
    `SELECT index, state::text AS state, gate_passed_at AS "gatePassedAt", gate_text AS "gateText" FROM rollout_waves WHERE rollout_id = $1 ORDER BY index`,
    [id],
  );
  return rows;
}

export type ExecutionRow = {
  deviceId: string;
  wave: number;
  state: string;
  attempts: number;
  errorCode: string | null;
  lastStatus: string | null;
  notifiedAt: Date | null;
  finishedAt: Date | null;
};

export async function executionRows(db: Db, id: string): Promise<ExecutionRow[]> {
  const { rows } = await db.query<ExecutionRow>(
    `SELECT device_id AS "deviceId", wave_index AS wave, state::text AS state, attempts, error_code AS "errorCode", last_status AS "lastStatus",
            notified_at AS "notifiedAt", finished_at AS "finishedAt"
       FROM rollout_executions WHERE rollout_id = $1 ORDER BY device_id`,
    [id],
  );
  return rows;
}

/** Executions per state, e.g. { succeeded: 3, notified: 1 }. */
export function byState(rows: ExecutionRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.state] = (out[r.state] ?? 0) + 1;
  return out;
}

export async function auditOf(db: Db, id: string) {
  const { rows } = await db.query<{ action: string; actorLabel: string; reason: string | null; data: any }>(
    `SELECT action, actor_label AS "actorLabel", reason, data FROM audit_events WHERE target_type = 'rollout' AND target_id = $1 ORDER BY id`,
    [id],
  );
  return rows;
}

/** Every shadow/delta queued per device (one per desired change), with the firmware versions they carried and whether each went out. */
export async function deltasOf(db: Db, ids: string[]) {
  const { rows } = await db.query<{ deviceId: string; versions: Array<string | null>; published: number }>(
    `SELECT device_id AS "deviceId", array_agg(payload->'state'->'firmware'->>'version' ORDER BY id) AS versions,
            count(*) FILTER (WHERE published_at IS NOT NULL)::int AS published
       FROM mqtt_outbox WHERE device_id = ANY($1::text[]) AND topic LIKE '%/shadow/delta' GROUP BY device_id`,
    [ids],
  );
  return new Map(rows.map((r) => [r.deviceId, r]));
}
