// The shadow decision engine: pure, no I/O. Decides each device message in
// the order of PROTOCOL.md (see README.md in this folder). The ingest calls
// it once per message, in arrival order, threading the state through.
import type { z } from "zod";
import { clockFindings, type Finding } from "./clock-rules.ts";
import { appendChange, changesBetween, computeDelta, isObject, mergePatch, stampMetadata, type JsonObject, type VersionChange } from "./document-rules.ts";
import { describeIssues, MAX_PAYLOAD_BYTES, shadowUpdateSchema, syncRequestSchema, type ShadowUpdate } from "./schema.ts";
import { checkTransitions } from "./transition-rules.ts";

export const SEQ_WINDOW = 100;
export const REJECTION_CODES = [
  "invalid_payload", "payload_too_large", "unknown_device", "out_of_order",
  "seq_window_exceeded", "stale_version", "version_gap", "invalid_transition",
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** (seq, version, deviceTime) of an accepted update → the version it produced. */
export type ReplayKey = { s: number; v: number; t: number; a: number };

export type ShadowState = {
  version: number;
  lastSeq: number | null;
  recentKeys: ReplayKey[];
  reported: JsonObject;
  desired: JsonObject;
  metadata: { reported: JsonObject; desired: JsonObject };
  changes: VersionChange[];
};

export type Device = { registered: boolean; revoked: boolean; region: string; maxSkewSec?: number };

export type Parsed<T> = { ok: true; value: T } | { ok: false; code: "invalid_payload" | "payload_too_large"; message: string; clientToken?: string };

/**
 * JSON may carry text that no JSON store keeps (PostgreSQL's jsonb refuses
 * \u0000 and unpaired surrogates). Accepted, such an update would fail its
 * whole batch on every retry; it is refused up front instead. Returns the
 * path of the first such string or key, or null.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function findUnstorableText(value: unknown, path = "payload"): string | null {
  if (typeof value === "string") return UNSTORABLE.test(value) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return `${path} key`;
      const found = findUnstorableText(inner, path === "payload" ? key : `${path}.${key}`);
      if (found !== null) return found;
    }
  }
  return null;
}

export function parsePayload<T>(raw: Buffer, schema: z.ZodType<T>): Parsed<T> {
  if (raw.length > MAX_PAYLOAD_BYTES) return { ok: false, code: "payload_too_large", message: `payload is ${raw.length} bytes; the limit is ${MAX_PAYLOAD_BYTES}` };
  const text = raw.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: "invalid_payload", message: "payload is not valid JSON" };
  }
  const clientToken = isObject(json) && typeof json.clientToken === "string" && json.clientToken.length <= 64 ? json.clientToken : undefined;
  // Valid JSON text carries a NUL or a lone surrogate only as a \u escape (raw control characters are
  // not valid JSON, and decoding UTF-8 never yields a lone surrogate): without one, there is nothing to find.
  const unstorable = text.includes("\\u") ? findUnstorableText(json) : null;
  if (unstorable !== null) return { ok: false, code: "invalid_payload", message: `${unstorable}: contains a NUL character or an unpaired surrogate`, clientToken: clientToken && findUnstorableText(clientToken) === null ? clientToken : undefined };
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, code: "invalid_payload", message: describeIssues(result.error), clientToken };
  return { ok: true, value: result.data };
}

export type UpdateDecision = {
  outcome: "accepted" | "duplicate" | "rejected";
  code?: RejectionCode;
  /** Body for shadow/update/accepted or shadow/update/rejected. */
  response: Record<string, unknown>;
  /** Whether a `sync` must also be published (sequence and version rejections). */
  sync: boolean;
  /** The state after the message, when it changed anything (even only lastSeq). */
  next: ShadowState | null;
  update?: ShadowUpdate;
  skewSec?: number;
  findings: Finding[];
};

function rejected(code: RejectionCode, message: string, now: number, extra: Record<string, unknown>, clientToken?: string) {
  return { code, message, ...extra, timestamp: now, ...(clientToken !== undefined ? { clientToken } : {}) };
}

export function decideShadowUpdate(device: Device | null, state: ShadowState | null, raw: Buffer, now: number): UpdateDecision {
  const parsed = parsePayload(raw, shadowUpdateSchema);
  if (!parsed.ok) {
    const known = device?.registered && state ? { currentVersion: state.version, lastSeq: state.lastSeq } : {};
    return { outcome: "rejected", code: parsed.code, response: rejected(parsed.code, parsed.message, now, known, parsed.clientToken), sync: false, next: null, findings: [] };
  }
  const msg = parsed.value;
  const token = msg.clientToken;
  if (!device?.registered || device.revoked || !state) {
    const why = device?.revoked ? "device is revoked" : "device is not registered";
    return { outcome: "rejected", code: "unknown_device", response: rejected("unknown_device", why, now, {}, token), sync: false, next: null, update: msg, findings: [] };
  }
  const { skewSec, findings } = clockFindings(msg, now, device.region, device.maxSkewSec);
  const base = { update: msg, skewSec, findings };

  // 3. Replay: an update accepted within the window is answered as it was, changing nothing.
  const replay = state.recentKeys.find((k) => k.s === msg.seq && k.v === msg.version && k.t === msg.deviceTime);
  if (replay) {
    return { outcome: "duplicate", response: { version: replay.a, timestamp: now, ...(token !== undefined ? { clientToken: token } : {}), duplicate: true, state: { reported: state.reported } }, sync: false, next: null, ...base };
  }

  // 4. Sequence.
  if (state.lastSeq !== null) {
    if (msg.seq <= state.lastSeq) return rejectedUpdate(base, now, state, "out_of_order", `seq ${msg.seq} is not after the last seq ${state.lastSeq}`, null, {}, true);
    if (msg.seq - state.lastSeq > SEQ_WINDOW) {
      return rejectedUpdate(base, now, state, "seq_window_exceeded", `seq ${msg.seq} is more than ${SEQ_WINDOW} past the last seq ${state.lastSeq}`, null, {}, true);
    }
  }
  // From here on the seq is taken even when the update is refused (the state after it: seqAdvanced).

  // 5. Version.
  const V = state.version;
  if (msg.version <= V) return rejectedUpdate(base, now, state, "stale_version", `version ${msg.version} is not newer than the current version ${V}`, seqAdvanced(state, msg.seq), {}, true);
  if (msg.version > V + 1) return rejectedUpdate(base, now, state, "version_gap", `version ${msg.version} skips past ${V + 1}; sync first`, seqAdvanced(state, msg.seq), {}, true);

  // 6. State transitions.
  const bad = checkTransitions(state.reported, msg.state.reported as JsonObject);
  if (bad) return rejectedUpdate(base, now, state, "invalid_transition", `${bad.attribute} cannot go from ${bad.from ?? "unset"} to ${bad.to}`, seqAdvanced(state, msg.seq), bad);

  // 7. Accept.
  const patch = msg.state.reported as JsonObject;
  const version = V + 1;
  const next: ShadowState = {
    ...state,
    lastSeq: msg.seq,
    version,
    reported: mergePatch(state.reported, patch),
    metadata: { ...state.metadata, reported: stampMetadata(state.metadata.reported, patch, Math.floor(now)) },
    recentKeys: keysInWindow(state.recentKeys, msg.seq, { s: msg.seq, v: msg.version, t: msg.deviceTime, a: version }),
    changes: appendChange(state.changes, { v: version, reported: patch }),
  };
  return {
    outcome: "accepted",
    response: { version, timestamp: now, ...(token !== undefined ? { clientToken: token } : {}), duplicate: false, state: { reported: next.reported } },
    sync: false,
    next,
    ...base,
  };
}

function rejectedUpdate(
  base: Pick<UpdateDecision, "update" | "skewSec" | "findings">,
  now: number,
  state: ShadowState,
  code: RejectionCode,
  message: string,
  next: ShadowState | null,
  extra: Record<string, unknown> = {},
  sync = false,
): UpdateDecision {
  const at = next ?? state;
  const response = rejected(code, message, now, { currentVersion: at.version, lastSeq: at.lastSeq, ...extra }, base.update?.clientToken);
  return { outcome: "rejected", code, response, sync, next, ...base };
}

/** The state once `seq` is taken: lastSeq moves, the replay window slides. */
function seqAdvanced(state: ShadowState, seq: number): ShadowState {
  return { ...state, lastSeq: seq, recentKeys: keysInWindow(state.recentKeys, seq) };
}

/** Keys older than the window can no longer be replayed legitimately; `added` joins the kept ones. One copy, one pass. */
function keysInWindow(keys: ReplayKey[], lastSeq: number, added?: ReplayKey): ReplayKey[] {
  const oldest = lastSeq - SEQ_WINDOW;
  const kept: ReplayKey[] = [];
  for (const k of keys) if (k.s >= oldest) kept.push(k);
  if (added) kept.push(added);
  return kept;
}

/** The whole document, as `shadow/get/accepted` returns it. */
export function shadowDocument(state: ShadowState, clock: { deviceClock?: number | null; clockSkew?: number | null; serverClock: number }) {
  return {
    state: { desired: state.desired, reported: state.reported, delta: computeDelta(state.desired, state.reported) },
    metadata: {
      reported: state.metadata.reported,
      desired: state.metadata.desired,
      lastSeq: state.lastSeq,
      deviceClock: clock.deviceClock ?? null,
      serverClock: clock.serverClock,
      clockSkew: clock.clockSkew ?? null,
    },
    version: state.version,
    timestamp: clock.serverClock,
  };
}

export function syncMessage(state: ShadowState, currentVersion: number) {
  const V = state.version;
  if (currentVersion === V) return { type: "sync", mode: "none", fromVersion: V, toVersion: V, state: {} };
  const gap = V - currentVersion;
  const changes = gap > 0 && gap <= 10 ? changesBetween(state.changes, currentVersion, V) : null;
  if (changes) return { type: "sync", mode: "delta", fromVersion: currentVersion, toVersion: V, state: changes };
  return {
    type: "sync",
    mode: "full",
    fromVersion: null,
    toVersion: V,
    state: { desired: state.desired, reported: state.reported, delta: computeDelta(state.desired, state.reported) },
  };
}

export type SyncDecision =
  | { ok: false; code: "invalid_payload" | "payload_too_large" | "unknown_device"; message: string }
  | { ok: true; response: ReturnType<typeof syncMessage>; next: ShadowState | null; skewSec: number; findings: Finding[]; seq: number; deviceTime: number };

/** sync/request: answer from the state; a greater seq resets the sequence window. */
export function decideSyncRequest(device: Device | null, state: ShadowState | null, raw: Buffer, now: number): SyncDecision {
  const parsed = parsePayload(raw, syncRequestSchema);
  if (!parsed.ok) return { ok: false, code: parsed.code, message: parsed.message };
  if (!device?.registered || device.revoked || !state) return { ok: false, code: "unknown_device", message: "device is not registered" };
  const msg = parsed.value;
  const { skewSec, findings } = clockFindings(msg, now, device.region, device.maxSkewSec);
  const resets = state.lastSeq === null || msg.seq > state.lastSeq;
  const next = resets ? seqAdvanced(state, msg.seq) : null;
  return { ok: true, response: syncMessage(state, msg.currentVersion), next, skewSec, findings, seq: msg.seq, deviceTime: msg.deviceTime };
}

/** A change of desired state made by the platform (a rollout, an engineer). */
export function applyDesiredChange(state: ShadowState, patch: JsonObject, now: number): ShadowState {
  const version = state.version + 1;
  return {
    ...state,
    version,
    desired: mergePatch(state.desired, patch),
    metadata: { ...state.metadata, desired: stampMetadata(state.metadata.desired, patch, Math.floor(now)) },
    changes: appendChange(state.changes, { v: version, desired: patch }),
  };
}

export function deltaMessage(state: ShadowState, now: number) {
  return { version: state.version, timestamp: now, state: computeDelta(state.desired, state.reported) };
}
