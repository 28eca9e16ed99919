// The ingest's write as ONE statement: every table a batch touches, in data-
// modifying CTEs behind a gate, run in autocommit, so a batch costs a single
// round trip and its commit. The gate locks the batch's shadow rows in
// device-id order (two workers cannot deadlock on each other) and checks each
// against the version and lastSeq its decision was made from; if any differs
// (another worker, or a desired change, moved it on) nothing at all is
// written and the statement reports which devices to re-read.
//
// Parameters: the scalar columns of each table as one JSON document (json,
// not jsonb: PostgreSQL only scans it), and each shadow document column as
// one text of JSON texts separated by U+001E, which PostgreSQL splits and
// parses straight into the stored jsonb. (One big jsonb document would be
// parsed twice, as a whole and then per column; that was most of the
// database's time per batch. An array literal would need every quote in the
// documents escaped; JSON.stringify never emits a raw U+001E.) Most of a
// shadow row (its kept changes, its desired metadata) is the same object from
// batch to batch, so its JSON is made once and reused. Dates travel as epoch
// milliseconds.
import { rollupUpsertSql, SHADOW_EVENT_COLUMNS, type ShadowEvent } from "@/server/db/timeseries.ts";
import { RawJson } from "./batch-rules.ts";
import type { BatchWrite, FindingCheck, FindingWrite, ReplayKeyWrite, ShadowWrite } from "./mutations.ts";

const SEPARATOR = "\u001e";
/** Stands for SQL NULL in a document column (no JSON text is this). */
const NO_DOCUMENT = "N";

/** Where a value's JSON is kept on the value itself (JSON.stringify skips symbol keys). */
const JSON_TEXT = Symbol("json text");
type WithJson = { [JSON_TEXT]?: string };

/**
 * JSON of a value the rules never mutate (a kept change, a desired document): made once
 * and kept on the value (a WeakMap of every kept change would cost a lookup each and
 * weigh on every garbage collection).
 */
function cachedJson(value: object): string {
  const memo = value as WithJson;
  let text = memo[JSON_TEXT];
  if (text === undefined) {
    text = JSON.stringify(value);
    // Not enumerable: invisible to anything that walks or compares the value.
    Object.defineProperty(memo, JSON_TEXT, { value: text });
  }
  return text;
}

const num = (v: number | bigint | null | undefined): string =>
  typeof v === "bigint" ? v.toString() : typeof v === "number" && Number.isFinite(v) ? String(v) : "null";
const ms = (d: Date | null | undefined): string => (d ? num(d.getTime()) : "null");
const str = (s: string | null | undefined): string => (s === null || s === undefined ? "null" : JSON.stringify(s));

function shadowRow(w: ShadowWrite): string {
  const n = w.next;
  return (
    `{"id":${str(w.deviceId)},"ev":${num(w.expected.version)},"es":${num(w.expected.lastSeq)},"seen":${ms(w.lastSeenAt)}` +
    `,"online":${w.online === null ? "null" : w.online},"clock":${ms(w.deviceClockAt)},"skew":${num(w.clockSkewSec)},"fw":${str(w.firmwareVersion)}` +
    (n ? `,"v":${num(n.version)},"s":${num(n.lastSeq)}}` : "}")
  );
}

/** The documents of the changed shadows, one text per column in the order of the rows. */
function shadowDocuments(writes: ShadowWrite[]): string[] {
  const reported: string[] = [];
  const metadata: string[] = [];
  const changes: string[] = [];
  const desired: string[] = [];
  for (const w of writes) {
    const n = w.next;
    if (!n) {
      reported.push(NO_DOCUMENT);
      metadata.push(NO_DOCUMENT);
      changes.push(NO_DOCUMENT);
      desired.push(NO_DOCUMENT);
      continue;
    }
    reported.push(JSON.stringify(n.reported));
    metadata.push(`{"reported":${JSON.stringify(n.metadata.reported)},"desired":${cachedJson(n.metadata.desired)}}`);
    changes.push(`[${n.changes.map(cachedJson).join(",")}]`);
    desired.push(w.desiredChanged ? cachedJson(n.desired) : NO_DOCUMENT);
  }
  return [reported, metadata, changes, desired].map((column) => column.join(SEPARATOR));
}

function eventRow(e: ShadowEvent): string {
  return (
    `{"d":${str(e.deviceId)},"t":${ms(e.serverTime)},"dt":${ms(e.deviceTime)},"k":${str(e.kind)},"o":${str(e.outcome)},"c":${str(e.code)}` +
    `,"s":${num(e.seq)},"v":${num(e.version)},"a":${num(e.acceptedVersion)},"sk":${num(e.clockSkewSec)}` +
    `,"p":${e.payload === undefined || e.payload === null ? "null" : e.payload instanceof RawJson ? e.payload.text : JSON.stringify(e.payload)}}`
  );
}

const keyRow = (k: ReplayKeyWrite) => `{"d":${str(k.deviceId)},"s":${num(k.s)},"v":${num(k.v)},"t":${num(k.t)},"a":${num(k.a)}}`;

/** One row per (device, kind): ON CONFLICT cannot touch a row twice in one statement. */
function findingRows(findings: FindingWrite[], checked: FindingCheck[]): { found: string[]; clean: string[] } {
  const merged = new Map<string, { f: FindingWrite; count: number }>();
  for (const f of findings) {
    const key = `${f.deviceId}\u0000${f.finding.kind}`;
    merged.set(key, { f, count: (merged.get(key)?.count ?? 0) + 1 });
  }
  const found = [...merged.values()].map(
    ({ f, count }) =>
      `{"d":${str(f.deviceId)},"k":${str(f.finding.kind)},"sev":${str(f.finding.severity)},"title":${str(f.finding.title)}` +
      `,"detail":${JSON.stringify(f.finding.detail ?? {})},"n":${count},"t":${ms(f.at)}}`,
  );
  // A check that came back clean resolves the open finding of that kind.
  const clean: string[] = [];
  const seen = new Set<string>();
  for (const c of checked) {
    for (const kind of c.kinds) {
      const key = `${c.deviceId}\u0000${kind}`;
      if (merged.has(key) || seen.has(key)) continue;
      seen.add(key);
      clean.push(`{"d":${str(c.deviceId)},"k":${str(kind)}}`);
    }
  }
  return { found, clean };
}

const list = (rows: string[]) => `[${rows.join(",")}]`;

export function batchParams(batch: BatchWrite): unknown[] {
  const { found, clean } = findingRows(batch.findings, batch.checked);
  return [
    list(batch.shadows.map(shadowRow)),
    batch.shadows.length,
    list(batch.events.map(eventRow)),
    list(batch.replayKeys.map(keyRow)),
    list(found),
    list(clean),
    ...shadowDocuments(batch.shadows),
  ];
}

const ROLLUPS = `,
rollups AS (
  ${rollupUpsertSql("SELECT to_timestamp(e.t / 1000), e.o FROM ev e WHERE (SELECT go FROM gate) AND e.o <> 'info'")}
)`;

/**
 * $1 shadow rows, $2 their count, $3 events, $4 replay keys, $5 findings, $6 clean checks,
 * $7–$10 the shadows' reported, metadata, changes and desired documents.
 * `rollups`: whether the per-minute counts are kept by the ingest (plain PostgreSQL; on
 * TimescaleDB the continuous aggregate does it), as server/db/timeseries.ts decides.
 */
export function batchStatement(rollups: boolean): string {
  return `/* ingest batch */
WITH u AS MATERIALIZED (
  SELECT id, ev, es, seen, online, clock, skew, fw, v, s,
         reported::jsonb AS reported, metadata::json AS metadata, changes::json AS changes, desired::jsonb AS desired
    FROM ROWS FROM (
      json_to_recordset($1::json) AS (id text, ev int, es bigint, seen float8, online boolean, clock float8, skew real, fw text, v int, s bigint),
      unnest(string_to_array($7::text, chr(30), '${NO_DOCUMENT}')), unnest(string_to_array($8::text, chr(30), '${NO_DOCUMENT}')),
      unnest(string_to_array($9::text, chr(30), '${NO_DOCUMENT}')), unnest(string_to_array($10::text, chr(30), '${NO_DOCUMENT}'))
    ) AS u(id, ev, es, seen, online, clock, skew, fw, v, s, reported, metadata, changes, desired)
),
locked AS MATERIALIZED (
  SELECT s.device_id, (s.version = u.ev AND s.last_seq IS NOT DISTINCT FROM u.es) AS ok
    FROM device_shadows s JOIN u ON u.id = s.device_id
   ORDER BY s.device_id
     FOR UPDATE OF s
),
gate AS MATERIALIZED (SELECT count(*) FILTER (WHERE ok) = $2::int AS go FROM locked),
shadows AS (
  UPDATE device_shadows AS s SET
      version       = CASE WHEN u.v IS NULL THEN s.version ELSE u.v END,
      last_seq      = CASE WHEN u.v IS NULL THEN s.last_seq ELSE u.s END,
      reported      = CASE WHEN u.v IS NULL THEN s.reported ELSE u.reported END,
      desired       = COALESCE(u.desired, s.desired),
      metadata      = CASE WHEN u.v IS NULL THEN s.metadata ELSE u.metadata END,
      changes       = CASE WHEN u.v IS NULL THEN s.changes ELSE u.changes END,
      online        = COALESCE(u.online, s.online),
      last_seen_at  = GREATEST(s.last_seen_at, to_timestamp(u.seen / 1000)),
      device_clock_at = COALESCE(to_timestamp(u.clock / 1000), s.device_clock_at),
      clock_skew_sec  = COALESCE(u.skew, s.clock_skew_sec),
      updated_at    = now()
    FROM u
   WHERE (SELECT go FROM gate) AND s.device_id = u.id
  RETURNING 1
),
firmware AS (
  UPDATE devices AS d SET firmware_version = u.fw, updated_at = now()
    FROM u
   WHERE (SELECT go FROM gate) AND u.fw IS NOT NULL AND d.id = u.id AND d.firmware_version <> u.fw
),
replay_keys AS (
  INSERT INTO shadow_replay_keys (device_id, seq, version, device_time, accepted_version)
  SELECT k.d, k.s, k.v, k.t, k.a FROM json_to_recordset($4::json) AS k(d text, s bigint, v int, t float8, a int)
   WHERE (SELECT go FROM gate)
  ON CONFLICT DO NOTHING
),
ev AS MATERIALIZED (
  SELECT * FROM json_to_recordset($3::json) AS e(d text, t float8, dt float8, k text, o text, c text, s bigint, v int, a int, sk real, p jsonb)
),
events AS (
  INSERT INTO shadow_events (${SHADOW_EVENT_COLUMNS})
  SELECT e.d, to_timestamp(e.t / 1000), to_timestamp(e.dt / 1000), e.k, e.o, e.c, e.s, e.v, e.a, e.sk, e.p
    FROM ev e WHERE (SELECT go FROM gate)
)${rollups ? ROLLUPS : ""},
found AS (
  INSERT INTO device_findings (device_id, kind, severity, title, detail, count, first_seen_at, last_seen_at)
  SELECT f.d, f.k, f.sev, f.title, f.detail, f.n, to_timestamp(f.t / 1000), to_timestamp(f.t / 1000)
    FROM json_to_recordset($5::json) AS f(d text, k text, sev text, title text, detail jsonb, n int, t float8)
   WHERE (SELECT go FROM gate)
  ON CONFLICT (device_id, kind) WHERE resolved_at IS NULL DO UPDATE
    SET count = device_findings.count + EXCLUDED.count, last_seen_at = EXCLUDED.last_seen_at,
        detail = EXCLUDED.detail, severity = EXCLUDED.severity
),
resolved AS (
  UPDATE device_findings AS f SET resolved_at = now()
    FROM json_to_recordset($6::json) AS c(d text, k text)
   WHERE (SELECT go FROM gate) AND f.device_id = c.d AND f.kind = c.k AND f.resolved_at IS NULL
)
SELECT g.go,
       CASE WHEN g.go THEN NULL
            ELSE (SELECT array_agg(u.id) FROM u LEFT JOIN locked l ON l.device_id = u.id WHERE l.ok IS NOT TRUE) END AS stale,
       (SELECT count(*) FROM shadows)::int AS written
  FROM gate g`;
}
