// Decides a whole batch of device messages against the states loaded for it,
// in arrival order, and says what to write and what to publish. Pure: the
// ingest (ingest.ts) does the I/O around it.
import type { ShadowEvent, ShadowEventKind } from "@/server/db/timeseries.ts";
import type { DeviceTopic, ResponseTopic } from "@/server/mqtt/topics.ts";
import type { FindingCheck, FindingWrite, ReplayKeyWrite, ShadowWrite } from "./mutations.ts";
import type { StoredShadow } from "./data.ts";
import type { Finding, FindingKind } from "./clock-rules.ts";
import { isObject } from "./document-rules.ts";
import { decideShadowUpdate, decideSyncRequest, findUnstorableText, parsePayload, shadowDocument, syncMessage, type ShadowState } from "./rules.ts";
import { shadowGetSchema, statusSchema, syncCompleteSchema } from "./schema.ts";

export type BatchMessage = { deviceId: string; suffix: DeviceTopic; payload: Buffer; receivedAt: number };
export type Response = { deviceId: string; suffix: ResponseTopic; body: unknown };
export type PendingSync = { publishedAt: number; toVersion: number };

export type BatchDecision = {
  shadows: ShadowWrite[];
  replayKeys: ReplayKeyWrite[];
  events: ShadowEvent[];
  findings: FindingWrite[];
  checked: FindingCheck[];
  responses: Response[];
  /** Sync answers go out through the rate limiter. */
  syncs: Response[];
  /** Final states of devices whose shadow changed, for the cache and live push. */
  changed: Map<string, ShadowState>;
  onlineChanged: boolean;
  firmwareChanged: boolean;
};

const KIND: Record<DeviceTopic, ShadowEventKind> = {
  "shadow/update": "update",
  "shadow/get": "get",
  "sync/request": "sync_request",
  "sync/complete": "sync_complete",
  status: "status",
};

function eventPayload(raw: Buffer): unknown {
  if (raw.length > 8192) return { bytes: raw.length };
  const text = raw.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalidJson: text.slice(0, 256), bytes: raw.length };
  }
  // Kept as text: stored as JSON it would fail the whole batch's write (jsonb refuses it).
  if (findUnstorableText(value) !== null) return { unstorableJson: text.slice(0, 256), bytes: raw.length };
  return value;
}

/**
 * A payload already parsed as JSON by the rules, stored as the device sent it instead of
 * being parsed again and re-serialised. (As an object, e.g. for JSON.stringify, it is the
 * parsed value.)
 */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

// What JSON.parse takes and PostgreSQL's jsonb may refuse: \u escapes (NUL, lone surrogates)
// and exponents beyond numeric's range. Such payloads take the parse-and-serialise path.
const NOT_VERBATIM = /\\u|[eE][+-]?\d{4}/;

function updatePayload(raw: Buffer, parsedAsJson: boolean): unknown {
  if (!parsedAsJson || raw.length > 8192) return eventPayload(raw);
  const text = raw.toString("utf8");
  return NOT_VERBATIM.test(text) ? eventPayload(raw) : new RawJson(text);
}

type Acc = { stored: StoredShadow; state: ShadowState; changed: boolean; write: ShadowWrite };

function evaluatedKinds(input: { ntpSyncedAt?: number; timezone?: string }): FindingKind[] {
  const kinds: FindingKind[] = ["clock_drift"];
  if (input.ntpSyncedAt !== undefined) kinds.push("ntp_stale");
  if (input.timezone !== undefined) kinds.push("timezone_invalid", "timezone_unexpected");
  return kinds;
}

export function decideBatch(messages: BatchMessage[], loaded: Map<string, StoredShadow>, pendingSyncs: Map<string, PendingSync>, nowMs: number): BatchDecision {
  const out: BatchDecision = { shadows: [], replayKeys: [], events: [], findings: [], checked: [], responses: [], syncs: [], changed: new Map(), onlineChanged: false, firmwareChanged: false };
  const accs = new Map<string, Acc>();
  const accFor = (deviceId: string, at: Date): Acc | null => {
    const stored = loaded.get(deviceId);
    if (!stored || stored.device.revoked) return null;
    let acc = accs.get(deviceId);
    if (!acc) {
      const s = stored.state;
      acc = {
        stored,
        state: s,
        changed: false,
        write: { deviceId, expected: { version: s.version, lastSeq: s.lastSeq }, next: null, desiredChanged: false, lastSeenAt: at, online: null, deviceClockAt: null, clockSkewSec: null, firmwareVersion: null },
      };
      accs.set(deviceId, acc);
    }
    acc.write.lastSeenAt = at;
    return acc;
  };
  const setState = (acc: Acc, next: ShadowState | null) => {
    if (!next) return;
    acc.state = next;
    acc.changed = true;
  };
  const noteClock = (acc: Acc, deviceId: string, at: Date, deviceTime: number, skewSec: number | undefined, findings: Finding[], input: { ntpSyncedAt?: number; timezone?: string }) => {
    acc.write.deviceClockAt = new Date(deviceTime * 1000);
    acc.write.clockSkewSec = skewSec ?? null;
    for (const finding of findings) out.findings.push({ deviceId, finding, at });
    out.checked.push({ deviceId, kinds: evaluatedKinds(input) });
  };

  for (const m of messages) {
    const at = new Date(m.receivedAt);
    const now = m.receivedAt / 1000;
    const acc = accFor(m.deviceId, at);
    const device = acc ? acc.stored.device : loaded.has(m.deviceId) ? loaded.get(m.deviceId)!.device : null;
    // An update's payload is stored once the rules have parsed it (updatePayload).
    const payload = m.suffix === "shadow/update" ? undefined : eventPayload(m.payload);
    const event: ShadowEvent = { deviceId: m.deviceId, serverTime: at, kind: KIND[m.suffix], outcome: "info", payload };
    out.events.push(event);

    if (m.suffix === "shadow/update") {
      const d = decideShadowUpdate(device, acc?.state ?? null, m.payload, now);
      event.payload = updatePayload(m.payload, d.code !== "invalid_payload" && d.code !== "payload_too_large");
      event.outcome = d.outcome;
      event.code = d.code ?? null;
      event.seq = d.update?.seq ?? null;
      event.version = d.update?.version ?? null;
      event.deviceTime = d.update ? new Date(d.update.deviceTime * 1000) : null;
      event.clockSkewSec = d.skewSec ?? null;
      event.acceptedVersion = d.outcome === "accepted" ? d.next!.version : d.outcome === "duplicate" ? (d.response.version as number) : null;
      out.responses.push({ deviceId: m.deviceId, suffix: d.outcome === "rejected" ? "shadow/update/rejected" : "shadow/update/accepted", body: d.response });
      if (acc && d.update) noteClock(acc, m.deviceId, at, d.update.deviceTime, d.skewSec, d.findings, d.update);
      if (acc) setState(acc, d.next);
      if (d.outcome === "accepted" && d.update && d.next) {
        out.replayKeys.push({ deviceId: m.deviceId, s: d.update.seq, v: d.update.version, t: d.update.deviceTime, a: d.next.version });
      }
      if (acc && d.sync && d.update) {
        out.syncs.push({ deviceId: m.deviceId, suffix: "sync", body: syncMessage(acc.state, d.update.version - 1) });
        pendingSyncs.set(m.deviceId, { publishedAt: nowMs, toVersion: acc.state.version });
      }
    } else if (m.suffix === "sync/request") {
      const d = decideSyncRequest(device, acc?.state ?? null, m.payload, now);
      if (!d.ok) {
        event.outcome = "rejected";
        event.code = d.code;
        continue;
      }
      event.seq = d.seq;
      event.deviceTime = new Date(d.deviceTime * 1000);
      event.clockSkewSec = d.skewSec;
      event.version = d.response.toVersion;
      noteClock(acc!, m.deviceId, at, d.deviceTime, d.skewSec, d.findings, parsedClock(m.payload));
      setState(acc!, d.next);
      out.syncs.push({ deviceId: m.deviceId, suffix: "sync", body: d.response });
      pendingSyncs.set(m.deviceId, { publishedAt: nowMs, toVersion: d.response.toVersion });
    } else if (m.suffix === "sync/complete") {
      const p = parsePayload(m.payload, syncCompleteSchema);
      if (!p.ok || !acc) {
        event.outcome = "rejected";
        event.code = !p.ok ? p.code : "unknown_device";
        continue;
      }
      event.seq = p.value.seq;
      event.version = p.value.version;
      const pending = pendingSyncs.get(m.deviceId);
      if (pending && p.value.version >= pending.toVersion) {
        event.payload = { ...(event.payload as object), convergenceMs: nowMs - pending.publishedAt };
        pendingSyncs.delete(m.deviceId);
      }
      if (acc.state.lastSeq === null || p.value.seq > acc.state.lastSeq) setState(acc, { ...acc.state, lastSeq: p.value.seq });
    } else if (m.suffix === "shadow/get") {
      const p = parsePayload(m.payload, shadowGetSchema);
      const token = p.ok && p.value.clientToken !== undefined ? { clientToken: p.value.clientToken } : {};
      if (!p.ok || !acc) {
        event.outcome = "rejected";
        event.code = !p.ok ? p.code : "unknown_device";
        out.responses.push({ deviceId: m.deviceId, suffix: "shadow/get/rejected", body: { code: event.code, message: !p.ok ? p.message : "device is not registered", timestamp: now, ...token } });
        continue;
      }
      const presence = acc.stored.presence;
      const deviceClock = acc.write.deviceClockAt ?? presence.deviceClockAt;
      out.responses.push({
        deviceId: m.deviceId,
        suffix: "shadow/get/accepted",
        body: { ...shadowDocument(acc.state, { serverClock: now, deviceClock: deviceClock ? deviceClock.getTime() / 1000 : null, clockSkew: acc.write.clockSkewSec ?? presence.clockSkewSec }), ...token },
      });
    } else if (m.suffix === "status") {
      const p = parsePayload(m.payload, statusSchema);
      if (!p.ok || !acc) {
        event.outcome = "rejected";
        event.code = !p.ok ? p.code : "unknown_device";
        continue;
      }
      acc.write.online = p.value.online;
    }
  }

  for (const [deviceId, acc] of accs) {
    if (acc.changed) {
      acc.write.next = acc.state;
      acc.write.desiredChanged = acc.state.desired !== acc.stored.state.desired;
      out.changed.set(deviceId, acc.state);
      const firmware = isObject(acc.state.reported.firmware) ? acc.state.reported.firmware.version : undefined;
      if (typeof firmware === "string" && firmware !== acc.stored.device.firmwareVersion) {
        acc.write.firmwareVersion = firmware;
        out.firmwareChanged = true;
      }
    }
    if (acc.write.online !== null && acc.write.online !== acc.stored.presence.online) out.onlineChanged = true;
    out.shadows.push(acc.write);
  }
  return out;
}

function parsedClock(raw: Buffer): { ntpSyncedAt?: number; timezone?: string } {
  const value = eventPayload(raw);
  if (!isObject(value as never)) return {};
  const v = value as { ntpSyncedAt?: unknown; timezone?: unknown };
  return { ...(typeof v.ntpSyncedAt === "number" ? { ntpSyncedAt: v.ntpSyncedAt } : {}), ...(typeof v.timezone === "string" ? { timezone: v.timezone } : {}) };
}
