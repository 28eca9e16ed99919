// The decision engine against PROTOCOL.md, "fleet/{id}/shadow/update" steps
// 1–7, "sync/request", and the platform's own desired changes. Everything is
// driven through raw payloads (Buffers), the way the ingest calls it.
import { describe, expect, it } from "vitest";
import { computeDelta, mergePatch, type JsonObject } from "./document-rules.ts";
import {
  REJECTION_CODES,
  SEQ_WINDOW,
  applyDesiredChange,
  decideShadowUpdate,
  decideSyncRequest,
  deltaMessage,
  shadowDocument,
  syncMessage,
  type Device,
  type ShadowState,
  type UpdateDecision,
} from "./rules.ts";

const NOW = 1_721_305_247;

const device = (o: Partial<Device> = {}): Device => ({ registered: true, revoked: false, region: "eu-central", ...o });

function fresh(o: Partial<ShadowState> = {}): ShadowState {
  return { version: 0, lastSeq: null, recentKeys: [], reported: {}, desired: {}, metadata: { reported: {}, desired: {} }, changes: [], ...o };
}

const raw = (body: unknown) => Buffer.from(typeof body === "string" ? body : JSON.stringify(body));

type Msg = { seq: number; version: number; deviceTime?: number; reported?: JsonObject } & Record<string, unknown>;
/** A shadow/update body; deviceTime defaults to 2 s behind the server. */
const upd = ({ seq, version, deviceTime = NOW - 2, reported = {}, ...rest }: Msg) => ({ seq, version, deviceTime, ...rest, state: { reported } });

/** One device's shadow, threading the engine's `next` state like the ingest does. */
class Shadow {
  constructor(
    public state: ShadowState = fresh(),
    public dev: Device | null = device(),
  ) {}
  update(body: unknown, now = NOW): UpdateDecision {
    const d = decideShadowUpdate(this.dev, this.state, raw(body), now);
    if (d.next) this.state = d.next;
    return d;
  }
  sync(body: unknown, now = NOW) {
    const d = decideSyncRequest(this.dev, this.state, raw(body), now);
    if (d.ok && d.next) this.state = d.next;
    return d;
  }
  desire(patch: JsonObject, now = NOW) {
    this.state = applyDesiredChange(this.state, patch, now);
  }
  /** An update with the next seq and version that must be accepted. */
  report(reported: JsonObject, extra: Record<string, unknown> = {}) {
    const d = this.update(upd({ seq: (this.state.lastSeq ?? 0) + 1, version: this.state.version + 1, reported, ...extra }));
    expect(d.outcome, JSON.stringify(d.response)).toBe("accepted");
    return d;
  }
}

/** A body whose JSON is exactly `bytes` bytes long. */
function sized(bytes: number, base: Msg = { seq: 1, version: 1 }) {
  const body = upd({ ...base, reported: { pad: "" } });
  const empty = raw(body).length;
  const text = JSON.stringify(upd({ ...base, reported: { pad: "x".repeat(bytes - empty) } }));
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

describe("rejection codes", () => {
  it("are exactly the protocol's", () => {
    expect([...REJECTION_CODES].sort()).toEqual(
      ["invalid_payload", "payload_too_large", "unknown_device", "out_of_order", "seq_window_exceeded", "stale_version", "version_gap", "invalid_transition"].sort(),
    );
    expect(SEQ_WINDOW).toBe(100);
  });
});

describe("step 1: payload", () => {
  it("accepts a payload of exactly 8 KiB and rejects one byte more as payload_too_large", () => {
    expect(new Shadow().update(sized(8192)).outcome).toBe("accepted");
    const d = new Shadow().update(sized(8193));
    expect(d).toMatchObject({ outcome: "rejected", code: "payload_too_large", sync: false, next: null });
    expect(d.response).toMatchObject({ code: "payload_too_large", message: expect.stringContaining("8192"), timestamp: NOW });
  });

  it("counts bytes, not characters", () => {
    const body = upd({ seq: 1, version: 1, reported: { note: "é".repeat(4200) } });
    expect(JSON.stringify(body).length).toBeLessThan(8192);
    expect(new Shadow().update(body).code).toBe("payload_too_large");
  });

  it.each([
    ["a NUL escape in a reported value", String.raw`{"seq":1,"version":1,"deviceTime":1721305245,"state":{"reported":{"note":"a\u0000b"}}}`, "note"],
    ["a NUL escape in a key", String.raw`{"seq":1,"version":1,"deviceTime":1721305245,"state":{"reported":{"a\u0000":1}}}`, "state.reported key"],
    ["an unpaired high surrogate", String.raw`{"seq":1,"version":1,"deviceTime":1721305245,"state":{"reported":{"n":["ok","\ud800"]}}}`, "n[1]"],
    ["an unpaired low surrogate", String.raw`{"seq":1,"version":1,"deviceTime":1721305245,"state":{"reported":{"n":"x\udc00"}}}`, "n"],
  ])("rejects %s as invalid_payload (no JSON store keeps it), naming where", (_, body, where) => {
    const d = new Shadow().update(body);
    expect(d).toMatchObject({ outcome: "rejected", code: "invalid_payload", next: null });
    expect(d.response).toMatchObject({ code: "invalid_payload", message: expect.stringContaining(where) });
    expect((d.response as { message: string }).message).toContain("NUL character or an unpaired surrogate");
  });

  it("keeps well-formed non-ASCII text, surrogate pairs included", () => {
    expect(new Shadow().update(upd({ seq: 1, version: 1, reported: { note: "🚀 é \\u0000 as text" } })).outcome).toBe("accepted");
  });

  it("size is checked before the JSON is even parsed", () => {
    expect(new Shadow().update("{" + "x".repeat(9000)).code).toBe("payload_too_large");
  });

  it.each([
    ["not JSON", "seq=1"],
    ["truncated JSON", '{"seq": 1, "version": 1'],
    ["empty", ""],
    ["a JSON array", "[]"],
    ["JSON null", "null"],
    ["a JSON number", "42"],
    ["a JSON string", '"update"'],
  ])("rejects %s as invalid_payload", (_, body) => {
    const d = new Shadow().update(body);
    expect(d).toMatchObject({ outcome: "rejected", code: "invalid_payload", sync: false, next: null });
    expect(d.response).toMatchObject({ code: "invalid_payload", message: expect.any(String), timestamp: NOW });
  });

  const valid = upd({ seq: 1, version: 1, reported: { power: "ON" } });
  const without = (key: string) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key));

  it.each([
    ["seq", without("seq")],
    ["version", without("version")],
    ["deviceTime", without("deviceTime")],
    ["state", without("state")],
    ["state.reported", { ...valid, state: {} }],
  ])("rejects a missing %s as invalid_payload", (_, body) => {
    expect(new Shadow().update(body)).toMatchObject({ code: "invalid_payload", next: null });
  });

  it.each([
    ["seq as a string", { seq: "1" }],
    ["seq 0", { seq: 0 }],
    ["negative seq", { seq: -5 }],
    ["fractional seq", { seq: 1.5 }],
    ["seq null", { seq: null }],
    ["seq beyond 2^53", { seq: 2 ** 53 + 2 }],
    ["version as a string", { version: "1" }],
    ["fractional version", { version: 1.5 }],
    ["version 0", { version: 0 }],
    ["deviceTime as a string", { deviceTime: "2024-07-18T12:20:45Z" }],
    ["negative deviceTime", { deviceTime: -1 }],
    ["state.reported as an array", { state: { reported: [] } }],
    ["state.reported as a string", { state: { reported: "ON" } }],
    ["state.reported null", { state: { reported: null } }],
    ["state as a string", { state: "x" }],
    ["clientToken as a number", { clientToken: 7 }],
    ["clientToken of 65 characters", { clientToken: "t".repeat(65) }],
    ["ntpSyncedAt as a string", { ntpSyncedAt: "yesterday" }],
    ["timezone as a number", { timezone: 1 }],
  ])("rejects %s as invalid_payload", (_, patch) => {
    expect(new Shadow().update({ ...valid, ...patch })).toMatchObject({ code: "invalid_payload", next: null });
  });

  it("accepts a clientToken of exactly 64 characters and the optional fields", () => {
    const d = new Shadow().update({ ...valid, clientToken: "t".repeat(64), ntpSyncedAt: NOW - 60, timezone: "Europe/Berlin" });
    expect(d.outcome).toBe("accepted");
    expect(d.response.clientToken).toBe("t".repeat(64));
  });

  it("accepts fractional times", () => {
    expect(new Shadow().update({ ...valid, deviceTime: NOW - 0.25, ntpSyncedAt: NOW - 10.5 }).outcome).toBe("accepted");
  });

  it("echoes a valid clientToken on invalid_payload, and none when the token itself is the problem", () => {
    expect(new Shadow().update({ ...valid, seq: "x", clientToken: "abc" }).response.clientToken).toBe("abc");
    expect(new Shadow().update({ ...valid, clientToken: "t".repeat(65) }).response).not.toHaveProperty("clientToken");
  });

  it("an invalid payload changes nothing, not even lastSeq", () => {
    const s = new Shadow(fresh({ version: 3, lastSeq: 10 }));
    const before = structuredClone(s.state);
    expect(s.update({ ...valid, seq: 11, version: 4, deviceTime: "late" }).next).toBeNull();
    expect(s.update(sized(9000, { seq: 11, version: 4 })).next).toBeNull();
    expect(s.state).toEqual(before);
    // the same seq is still free
    expect(s.update(upd({ seq: 11, version: 4 })).outcome).toBe("accepted");
  });

  it("tells a known device its current version and lastSeq on invalid_payload", () => {
    expect(new Shadow(fresh({ version: 3, lastSeq: 10 })).update("nope").response).toMatchObject({ currentVersion: 3, lastSeq: 10 });
  });
});

describe("step 2: unknown devices", () => {
  const body = upd({ seq: 1, version: 1, reported: { power: "ON" }, clientToken: "tok" });

  it.each([
    ["not in the registry (no device)", null, null],
    ["not registered", device({ registered: false }), fresh()],
    ["revoked", device({ revoked: true }), fresh()],
    ["registered but without a shadow", device(), null],
  ])("rejects a device that is %s as unknown_device", (_, dev, state) => {
    const d = decideShadowUpdate(dev, state, raw(body), NOW);
    expect(d).toMatchObject({ outcome: "rejected", code: "unknown_device", sync: false, next: null });
    expect(d.response).toMatchObject({ code: "unknown_device", timestamp: NOW, clientToken: "tok" });
    expect(d.response).not.toHaveProperty("currentVersion");
  });

  it("checks the payload first: an oversized payload from an unknown device is payload_too_large", () => {
    expect(decideShadowUpdate(null, null, raw(sized(9000)), NOW).code).toBe("payload_too_large");
    expect(decideShadowUpdate(device({ revoked: true }), fresh(), raw(sized(9000)), NOW).code).toBe("payload_too_large");
  });

  it("and a malformed payload from an unknown device is invalid_payload", () => {
    expect(decideShadowUpdate(null, null, raw("{"), NOW).code).toBe("invalid_payload");
    expect(decideShadowUpdate(device({ revoked: true }), fresh(), raw({ seq: 1 }), NOW).code).toBe("invalid_payload");
  });

  it("a revoked device's replay of an update accepted before revocation is unknown_device, not a duplicate", () => {
    const s = new Shadow();
    s.report({ power: "ON" });
    const d = decideShadowUpdate(device({ revoked: true }), s.state, raw(upd({ seq: 1, version: 1, reported: { power: "ON" } })), NOW);
    expect(d.code).toBe("unknown_device");
  });
});

describe("the first message from a device (lastSeq null)", () => {
  it.each([1, 2, 12_847, 5_000_000, Number.MAX_SAFE_INTEGER])("accepts any seq, here %s, and makes it lastSeq", (seq) => {
    const s = new Shadow();
    expect(s.update(upd({ seq, version: 1 })).outcome).toBe("accepted");
    expect(s.state.lastSeq).toBe(seq);
  });

  it("still requires version V + 1", () => {
    // e.g. a device whose desired state was set at import: V = 3
    const base = () => new Shadow(fresh({ version: 3 }));
    expect(base().update(upd({ seq: 900, version: 4 })).outcome).toBe("accepted");
    expect(base().update(upd({ seq: 900, version: 5 }))).toMatchObject({ code: "version_gap", response: { currentVersion: 3 } });
    expect(base().update(upd({ seq: 900, version: 3 }))).toMatchObject({ code: "stale_version", response: { currentVersion: 3 } });
    expect(base().update(upd({ seq: 900, version: 1 }))).toMatchObject({ code: "stale_version" });
  });

  it("a first message rejected on its version still sets lastSeq", () => {
    const s = new Shadow(fresh({ version: 3 }));
    s.update(upd({ seq: 900, version: 9 }));
    expect(s.state.lastSeq).toBe(900);
    expect(s.state.version).toBe(3);
    expect(s.update(upd({ seq: 900, version: 4 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 901, version: 4 })).outcome).toBe("accepted");
  });
});

describe("step 3: replay", () => {
  it("ten identical replays leave the shadow exactly as one did", () => {
    const s = new Shadow();
    s.report({ power: "ON" });
    const body = upd({ seq: 2, version: 2, reported: { firmware: { version: "4.1.5", status: "idle" }, power: "ACTIVE" }, clientToken: "c-2" });
    expect(s.update(body).outcome).toBe("accepted");
    const once = structuredClone(s.state);
    const docOnce = shadowDocument(s.state, { serverClock: NOW });
    for (let i = 0; i < 10; i++) {
      const d = s.update(body, NOW + i);
      expect(d.outcome).toBe("duplicate");
      expect(d.code).toBeUndefined();
      expect(d.next).toBeNull();
      expect(d.sync).toBe(false);
      expect(d.response).toMatchObject({ version: 2, duplicate: true, clientToken: "c-2", timestamp: NOW + i });
    }
    expect(s.state).toEqual(once);
    expect(shadowDocument(s.state, { serverClock: NOW })).toEqual(docOnce);
  });

  it("answers with the version the update was accepted with, not the current one", () => {
    const s = new Shadow();
    const first = upd({ seq: 1, version: 1, reported: { power: "ON" } });
    s.update(first);
    s.report({ power: "ACTIVE" });
    s.desire({ firmware: { version: "4.2.1" } });
    s.report({ power: "ON" });
    expect(s.state.version).toBe(4);
    expect(s.update(first).response).toMatchObject({ version: 1, duplicate: true });
    expect(s.state.reported).toEqual({ power: "ON" }); // the replayed ON→… did not re-apply
  });

  it("the replay need not be byte-identical: (seq, version, deviceTime) decides, and the body is ignored", () => {
    const s = new Shadow();
    s.update(upd({ seq: 1, version: 1, reported: { power: "ON" }, clientToken: "a" }));
    const d = s.update(upd({ seq: 1, version: 1, reported: { power: "OFF", extra: 1 }, clientToken: "b" }));
    expect(d.outcome).toBe("duplicate");
    expect(d.response.clientToken).toBe("b"); // the retry's own token is echoed
    expect(s.state.reported).toEqual({ power: "ON" });
  });

  it("all three of seq, version and deviceTime must match", () => {
    const s = new Shadow();
    s.update(upd({ seq: 1, version: 1, deviceTime: NOW - 2 }));
    s.update(upd({ seq: 2, version: 2, deviceTime: NOW - 1 }));
    expect(s.update(upd({ seq: 1, version: 1, deviceTime: NOW - 3 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 1, version: 2, deviceTime: NOW - 2 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 2, version: 2, deviceTime: NOW - 2 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 2, version: 2, deviceTime: NOW - 1 })).outcome).toBe("duplicate");
  });

  it("recognises every update of a redelivered batch of 100, not only the last one", () => {
    const s = new Shadow();
    const batch = Array.from({ length: 100 }, (_, i) => upd({ seq: 1000 + i, version: i + 1, deviceTime: NOW - 200 + i, reported: { counter: i } }));
    for (const body of batch) expect(s.update(body).outcome).toBe("accepted");
    const after = structuredClone(s.state);
    // redelivered in order, then again in reverse
    for (const body of [...batch, ...[...batch].reverse()]) {
      const d = s.update(body);
      expect(d.outcome, `seq ${body.seq}`).toBe("duplicate");
      expect(d.response.version).toBe(body.version);
    }
    expect(s.state).toEqual(after);
    // duplicates did not move lastSeq: the next seq is still the one right after the batch
    expect(s.update(upd({ seq: 1100, version: 101 })).outcome).toBe("accepted");
  });

  it("recognises updates up to 100 sequence numbers back, and not beyond", () => {
    const s = new Shadow();
    const old = upd({ seq: 1, version: 1, reported: { power: "ON" } });
    s.update(old);
    const mid = upd({ seq: 50, version: 2 });
    s.update(mid);
    s.update(upd({ seq: 100, version: 3 })); // lastSeq − 1 = 99
    expect(s.update(old).outcome).toBe("duplicate");
    s.update(upd({ seq: 101, version: 4 })); // lastSeq − 1 = 100: still recognised (see README.md)
    expect(s.update(old).outcome).toBe("duplicate");
    s.update(upd({ seq: 102, version: 5 })); // lastSeq − 1 = 101: beyond
    const d = s.update(old);
    expect(d).toMatchObject({ outcome: "rejected", code: "out_of_order", sync: true, next: null });
    expect(s.update(mid).outcome).toBe("duplicate"); // 52 back: still recognised
  });

  it("forgets old updates also when lastSeq moves on through rejected messages", () => {
    const s = new Shadow();
    const old = upd({ seq: 1, version: 1 });
    s.update(old);
    expect(s.update(upd({ seq: 101, version: 7 })).code).toBe("version_gap"); // advances lastSeq to 101
    expect(s.update(old).outcome).toBe("duplicate");
    expect(s.update(upd({ seq: 102, version: 1 })).code).toBe("stale_version"); // lastSeq 102
    expect(s.update(old).code).toBe("out_of_order");
  });

  it("a rejected update is not remembered: its retry is judged again", () => {
    const s = new Shadow();
    s.report({ power: "OFF" });
    const bad = upd({ seq: 2, version: 2, reported: { power: "ACTIVE" } });
    expect(s.update(bad).code).toBe("invalid_transition");
    expect(s.update(bad).code).toBe("out_of_order");
  });

  it("a duplicate wins over out_of_order (its seq is ≤ lastSeq by nature)", () => {
    const s = new Shadow();
    const body = upd({ seq: 5, version: 1 });
    s.update(body);
    s.update(upd({ seq: 6, version: 2 }));
    expect(s.state.lastSeq).toBe(6);
    expect(s.update(body)).toMatchObject({ outcome: "duplicate", sync: false, response: { version: 1, duplicate: true } });
  });

  it("a duplicate is recognised even after a desired change moved the version on", () => {
    const s = new Shadow();
    const body = upd({ seq: 1, version: 1 });
    s.update(body);
    s.desire({ power: "ON" });
    expect(s.update(body)).toMatchObject({ outcome: "duplicate", response: { version: 1 } });
    expect(s.state.version).toBe(2);
  });
});

describe("step 4: sequence", () => {
  const at = (lastSeq: number, version = 10) => new Shadow(fresh({ version, lastSeq }));

  it.each([
    ["equal to lastSeq", 500],
    ["below lastSeq", 499],
    ["far below lastSeq", 1],
  ])("seq %s → out_of_order, with a sync, changing nothing", (_, seq) => {
    const s = at(500);
    const d = s.update(upd({ seq, version: 11, clientToken: "t" }));
    expect(d).toMatchObject({ outcome: "rejected", code: "out_of_order", sync: true, next: null });
    expect(d.response).toEqual({ code: "out_of_order", message: expect.any(String), currentVersion: 10, lastSeq: 500, timestamp: NOW, clientToken: "t" });
    expect(s.state).toEqual(fresh({ version: 10, lastSeq: 500 }));
  });

  it("accepts seq − lastSeq = 100 exactly", () => {
    const s = at(500);
    expect(s.update(upd({ seq: 600, version: 11 })).outcome).toBe("accepted");
    expect(s.state.lastSeq).toBe(600);
  });

  it("seq − lastSeq = 101 → seq_window_exceeded, with a sync, changing nothing", () => {
    const s = at(500);
    const d = s.update(upd({ seq: 601, version: 11 }));
    expect(d).toMatchObject({ outcome: "rejected", code: "seq_window_exceeded", sync: true, next: null });
    expect(d.response).toMatchObject({ code: "seq_window_exceeded", currentVersion: 10, lastSeq: 500 });
    expect(s.state.lastSeq).toBe(500);
    expect(at(500).update(upd({ seq: 10_000, version: 11 })).code).toBe("seq_window_exceeded");
  });

  it("gaps inside the window are fine (a device may use seqs on other topics)", () => {
    const s = at(500);
    for (const seq of [501, 550, 551, 640]) expect(s.update(upd({ seq, version: s.state.version + 1 })).outcome).toBe("accepted");
  });

  it("a stale version from an out-of-order seq is out_of_order", () => {
    expect(at(500).update(upd({ seq: 499, version: 3 })).code).toBe("out_of_order");
  });

  it("a version gap from a seq beyond the window is seq_window_exceeded", () => {
    expect(at(500).update(upd({ seq: 700, version: 99 })).code).toBe("seq_window_exceeded");
  });
});

describe("lastSeq advances for every message that passes step 4", () => {
  const base = () => {
    const s = new Shadow();
    s.report({ firmware: { version: "4.1.5", status: "idle" }, power: "OFF" }); // seq 1, V = 1
    return s;
  };

  it.each([
    ["stale_version", upd({ seq: 7, version: 1 })],
    ["version_gap", upd({ seq: 7, version: 3 })],
    ["invalid_transition", upd({ seq: 7, version: 2, reported: { power: "ACTIVE" } })],
    ["invalid_transition", upd({ seq: 7, version: 2, reported: { firmware: { status: "completed" } } })],
  ])("…rejected later as %s", (code, body) => {
    const s = base();
    const before = s.state;
    const d = s.update(body);
    expect(d.code).toBe(code);
    expect(d.next).not.toBeNull();
    expect(s.state).toEqual({ ...before, lastSeq: 7 });
    expect(d.response).toMatchObject({ lastSeq: 7, currentVersion: 1 });
    // so the same seq is now out of order, and the next one is fine
    expect(s.update(upd({ seq: 7, version: 2 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 8, version: 2 })).outcome).toBe("accepted");
  });

  it.each([
    ["out_of_order", upd({ seq: 1, version: 2 })],
    ["seq_window_exceeded", upd({ seq: 102, version: 2 })],
    ["invalid_payload", { ...upd({ seq: 5, version: 2 }), deviceTime: null }],
    ["payload_too_large", sized(8193, { seq: 5, version: 2 })],
  ])("…and not for %s", (code, body) => {
    const s = base();
    const before = structuredClone(s.state);
    const d = s.update(body);
    expect(d.code).toBe(code);
    expect(d.next).toBeNull();
    expect(s.state).toEqual(before);
  });

  it("…and not for duplicates", () => {
    const s = base();
    s.update(upd({ seq: 5, version: 2 }));
    const d = s.update(upd({ seq: 1, version: 1, reported: { firmware: { version: "4.1.5", status: "idle" }, power: "OFF" } }));
    expect(d.outcome).toBe("duplicate");
    expect(d.next).toBeNull();
    expect(s.state.lastSeq).toBe(5);
  });

  it("…and not for unknown devices", () => {
    const s = base();
    expect(decideShadowUpdate(device({ revoked: true }), s.state, raw(upd({ seq: 9, version: 2 })), NOW).next).toBeNull();
  });
});

describe("step 5: version", () => {
  const at = () => new Shadow(fresh({ version: 47, lastSeq: 12_847 }));

  it("version = V → stale_version carrying currentVersion, with a sync", () => {
    const d = at().update(upd({ seq: 12_848, version: 47, clientToken: "x" }));
    expect(d).toMatchObject({ outcome: "rejected", code: "stale_version", sync: true });
    expect(d.response).toEqual({ code: "stale_version", message: expect.any(String), currentVersion: 47, lastSeq: 12_848, timestamp: NOW, clientToken: "x" });
  });

  it("version < V → stale_version", () => {
    expect(at().update(upd({ seq: 12_848, version: 3 }))).toMatchObject({ code: "stale_version", sync: true, response: { currentVersion: 47 } });
  });

  it("version = V + 1 → accepted", () => {
    const d = at().update(upd({ seq: 12_848, version: 48 }));
    expect(d).toMatchObject({ outcome: "accepted", sync: false, response: { version: 48, duplicate: false } });
  });

  it.each([49, 50, 1_000])("version %s (> V + 1) → version_gap carrying currentVersion, with a sync", (version) => {
    const d = at().update(upd({ seq: 12_848, version }));
    expect(d).toMatchObject({ outcome: "rejected", code: "version_gap", sync: true });
    expect(d.response).toMatchObject({ code: "version_gap", currentVersion: 47, lastSeq: 12_848 });
  });

  it("a device that missed a desired change is stale until it syncs", () => {
    const s = new Shadow();
    s.report({ power: "ON" }); // V = 1, the device knows 1
    s.desire({ power: "ACTIVE" }); // V = 2, the device does not know yet
    expect(s.update(upd({ seq: 2, version: 2, reported: { power: "ACTIVE" } }))).toMatchObject({ code: "stale_version", sync: true, response: { currentVersion: 2 } });
    const sync = s.sync({ seq: 3, currentVersion: 1, deviceTime: NOW });
    expect(sync).toMatchObject({ ok: true, response: { mode: "delta", fromVersion: 1, toVersion: 2, state: { desired: { power: "ACTIVE" } } } });
    expect(s.update(upd({ seq: 4, version: 3, reported: { power: "ACTIVE" } })).outcome).toBe("accepted");
  });
});

describe("step 6: state transitions", () => {
  it("rejects an invalid firmware transition with attribute, from, to, and no sync", () => {
    const s = new Shadow();
    s.report({ firmware: { version: "4.1.5", status: "idle" } });
    const d = s.update(upd({ seq: 2, version: 2, reported: { firmware: { status: "installing" } }, clientToken: "k" }));
    expect(d).toMatchObject({ outcome: "rejected", code: "invalid_transition", sync: false });
    expect(d.response).toEqual({
      code: "invalid_transition",
      message: expect.any(String),
      attribute: "firmware.status",
      from: "idle",
      to: "installing",
      currentVersion: 1,
      lastSeq: 2,
      timestamp: NOW,
      clientToken: "k",
    });
    expect(s.state.reported).toEqual({ firmware: { version: "4.1.5", status: "idle" } });
    expect(s.state.version).toBe(1);
  });

  it("rejects power OFF → ACTIVE and accepts OFF → ON → ACTIVE → OFF", () => {
    const s = new Shadow();
    s.report({ power: "OFF" });
    expect(s.update(upd({ seq: 2, version: 2, reported: { power: "ACTIVE" } })).response).toMatchObject({ code: "invalid_transition", attribute: "power", from: "OFF", to: "ACTIVE" });
    s.report({ power: "ON" });
    s.report({ power: "ACTIVE" });
    s.report({ power: "OFF" });
    expect(s.state.reported.power).toBe("OFF");
  });

  it("walks a whole firmware lifecycle, with progress updates repeating a status", () => {
    const s = new Shadow();
    const steps: JsonObject[] = [
      { firmware: { version: "4.1.5", status: "idle" } },
      { firmware: { status: "downloading", progress: 0 } },
      { firmware: { status: "downloading", progress: 50 } },
      { firmware: { status: "downloading", progress: 100 } },
      { firmware: { status: "verifying", progress: null } },
      { firmware: { status: "installing" } },
      { firmware: { status: "installing" } },
      { firmware: { version: "4.2.1", status: "completed", previousVersion: "4.1.5", updateDuration: 127, errorCode: null } },
      { firmware: { status: "downloading" } },
      { firmware: { status: "failed", errorCode: "E_NET" } },
      { firmware: { status: "idle", errorCode: null } },
      { firmware: { status: "downloading" } },
      { firmware: { status: "verifying" } },
      { firmware: { status: "installing" } },
      { firmware: { status: "rolled_back" } },
      { firmware: { status: "idle" } },
    ];
    for (const r of steps) s.report(r);
    expect(s.state.version).toBe(steps.length);
    expect(s.state.reported).toEqual({ firmware: { version: "4.2.1", status: "idle", previousVersion: "4.1.5", updateDuration: 127 } });
  });

  it("judges the version before the transition", () => {
    const s = new Shadow();
    s.report({ power: "OFF" });
    expect(s.update(upd({ seq: 2, version: 1, reported: { power: "ACTIVE" } })).code).toBe("stale_version");
    expect(s.update(upd({ seq: 3, version: 5, reported: { power: "ACTIVE" } })).code).toBe("version_gap");
  });
});

describe("step 7: accepted", () => {
  it("merges reported, bumps the version by 1, and answers with the merged state", () => {
    const s = new Shadow(fresh({ version: 47, lastSeq: 12_847, desired: { firmware: { version: "4.2.1" } } }));
    s.report({ firmware: { version: "4.1.5", status: "idle" }, power: "ON" });
    const d = s.update(upd({ seq: 12_849, version: 49, reported: { firmware: { status: "downloading" } }, clientToken: "tok" }), NOW + 0.75);
    expect(d.response).toEqual({
      version: 49,
      timestamp: NOW + 0.75,
      clientToken: "tok",
      duplicate: false,
      state: { reported: { firmware: { version: "4.1.5", status: "downloading" }, power: "ON" } },
    });
    expect(s.state.version).toBe(49);
    expect(s.state.lastSeq).toBe(12_849);
    expect(s.state.desired).toEqual({ firmware: { version: "4.2.1" } });
  });

  it("answers without clientToken when none was sent", () => {
    expect(new Shadow().update(upd({ seq: 1, version: 1 })).response).not.toHaveProperty("clientToken");
    expect(new Shadow(fresh({ version: 5 })).update(upd({ seq: 1, version: 1 })).response).not.toHaveProperty("clientToken");
  });

  it("a key set to null is removed, with its metadata", () => {
    const s = new Shadow();
    s.report({ firmware: { version: "4.1.5", status: "failed", errorCode: "E1" }, power: "ON" });
    s.report({ firmware: { status: "idle", errorCode: null }, power: null });
    expect(s.state.reported).toEqual({ firmware: { version: "4.1.5", status: "idle" } });
    expect(s.state.metadata.reported).toEqual({ firmware: { version: { timestamp: NOW }, status: { timestamp: NOW } } });
  });

  it("stamps metadata per leaf, in server seconds, whatever the device clock says", () => {
    const s = new Shadow();
    s.update(upd({ seq: 1, version: 1, deviceTime: 1_000, reported: { firmware: { version: "4.1.5", status: "idle" }, power: "ON" } }), NOW + 0.9);
    s.update(upd({ seq: 2, version: 2, deviceTime: 1_001, reported: { firmware: { status: "downloading" } } }), NOW + 60.2);
    expect(s.state.metadata.reported).toEqual({
      firmware: { version: { timestamp: NOW }, status: { timestamp: NOW + 60 } },
      power: { timestamp: NOW },
    });
    expect(s.state.metadata.desired).toEqual({});
  });

  it("records the change and the replay key", () => {
    const s = new Shadow();
    s.report({ power: "ON" }, { deviceTime: NOW - 5 });
    expect(s.state.changes).toEqual([{ v: 1, reported: { power: "ON" } }]);
    expect(s.state.recentKeys).toEqual([{ s: 1, v: 1, t: NOW - 5, a: 1 }]);
  });

  it("does not mutate the state it was given", () => {
    const state = fresh({ version: 1, lastSeq: 1, reported: { firmware: { version: "1", status: "idle" } } });
    const copy = structuredClone(state);
    decideShadowUpdate(device(), state, raw(upd({ seq: 2, version: 2, reported: { firmware: { status: "downloading" } } })), NOW);
    decideShadowUpdate(device(), state, raw(upd({ seq: 2, version: 5 })), NOW);
    expect(state).toEqual(copy);
  });
});

describe("clock checks never reject", () => {
  it("accepts an update from a device whose clock is a year off, with a drift warning", () => {
    const s = new Shadow();
    const d = s.update(upd({ seq: 1, version: 1, deviceTime: NOW - 365 * 86_400, ntpSyncedAt: NOW - 400 * 86_400, timezone: "Mars/Olympus" }));
    expect(d.outcome).toBe("accepted");
    expect(d.skewSec).toBe(365 * 86_400);
    expect(d.findings.map((f) => [f.kind, f.severity])).toEqual([
      ["clock_drift", "warning"],
      ["ntp_stale", "warning"],
      ["timezone_invalid", "info"],
    ]);
    expect(d.findings[0]!.title).toBe("Device clock drift detected");
  });

  it("accepts a device clock in the future", () => {
    const d = new Shadow().update(upd({ seq: 1, version: 1, deviceTime: NOW + 3_600 }));
    expect(d.outcome).toBe("accepted");
    expect(d.skewSec).toBe(-3_600);
    expect(d.findings.map((f) => f.kind)).toEqual(["clock_drift"]);
  });

  it("uses the device's own maximum skew", () => {
    const strict = new Shadow(fresh(), device({ maxSkewSec: 30 }));
    expect(strict.update(upd({ seq: 1, version: 1, deviceTime: NOW - 31 })).findings.map((f) => f.kind)).toEqual(["clock_drift"]);
    const lax = new Shadow(fresh(), device({ maxSkewSec: 3_600 }));
    expect(lax.update(upd({ seq: 1, version: 1, deviceTime: NOW - 3_000 })).findings).toEqual([]);
    expect(new Shadow().update(upd({ seq: 1, version: 1, deviceTime: NOW - 301 })).findings.map((f) => f.kind)).toEqual(["clock_drift"]);
    expect(new Shadow().update(upd({ seq: 1, version: 1, deviceTime: NOW - 300 })).findings).toEqual([]);
  });

  it("a zone unexpected for the region is an info finding, UTC is fine", () => {
    const s = new Shadow(fresh(), device({ region: "eu-west" }));
    expect(s.update(upd({ seq: 1, version: 1, timezone: "Asia/Tokyo" })).findings).toMatchObject([{ kind: "timezone_unexpected", severity: "info" }]);
    expect(s.update(upd({ seq: 2, version: 2, timezone: "UTC" })).findings).toEqual([]);
    expect(s.update(upd({ seq: 3, version: 3, timezone: "Europe/Lisbon" })).findings).toEqual([]);
  });

  it("do not change the decision of a rejected update either", () => {
    const s = new Shadow(fresh({ version: 5, lastSeq: 10 }));
    expect(s.update(upd({ seq: 10, version: 6, deviceTime: 0 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 11, version: 6, deviceTime: 0 })).outcome).toBe("accepted");
  });
});

describe("decision order", () => {
  const known = () => {
    const s = new Shadow();
    s.report({ power: "OFF" }, { deviceTime: NOW - 2 }); // seq 1, V 1
    s.report({ power: "ON" }, { deviceTime: NOW - 1 }); // seq 2, V 2
    return s;
  };
  const cases: [string, Device | null, unknown, string][] = [
    ["oversized from an unknown device → payload_too_large", null, sized(9000), "payload_too_large"],
    ["malformed from a revoked device → invalid_payload", device({ revoked: true }), "{oops", "invalid_payload"],
    ["a valid replay from a revoked device → unknown_device", device({ revoked: true }), upd({ seq: 1, version: 1, deviceTime: NOW - 2, reported: { power: "OFF" } }), "unknown_device"],
    ["a replay whose seq ≤ lastSeq → duplicate, not out_of_order", device(), upd({ seq: 1, version: 1, deviceTime: NOW - 2 }), "duplicate"],
    ["an out-of-order seq with a stale version → out_of_order", device(), upd({ seq: 2, version: 1 }), "out_of_order"],
    ["an out-of-order seq with a valid version and an invalid transition → out_of_order", device(), upd({ seq: 1, version: 3, reported: { power: "ON" } }), "out_of_order"],
    ["a seq beyond the window with a version gap → seq_window_exceeded", device(), upd({ seq: 200, version: 9 }), "seq_window_exceeded"],
    ["a stale version with an invalid transition → stale_version", device(), upd({ seq: 3, version: 2, reported: { firmware: { status: "bogus" } } }), "stale_version"],
    ["a version gap with an invalid transition → version_gap", device(), upd({ seq: 3, version: 4, reported: { firmware: { status: "bogus" } } }), "version_gap"],
    ["an invalid transition with a drifting clock → invalid_transition", device(), upd({ seq: 3, version: 3, deviceTime: 5, reported: { power: "BOOM" } }), "invalid_transition"],
  ];
  it.each(cases)("%s", (_, dev, body, expected) => {
    const s = known();
    s.dev = dev;
    const d = s.update(body);
    expect(d.outcome === "duplicate" ? "duplicate" : d.code).toBe(expected);
  });
});

describe("sync/request", () => {
  /** V = 7 with a history the device may have stopped anywhere in. */
  function history() {
    const s = new Shadow();
    const snapshots: { desired: JsonObject; reported: JsonObject }[] = [{ desired: {}, reported: {} }];
    const snap = () => snapshots.push({ desired: s.state.desired, reported: s.state.reported });
    s.report({ firmware: { version: "4.1.5", status: "idle" }, power: "ON" }); // v1
    snap();
    s.desire({ firmware: { version: "4.2.1", url: "https://fw/1", sha256: "aa", size: 1_048_576 } }); // v2
    snap();
    s.report({ firmware: { status: "downloading" } }); // v3
    snap();
    s.report({ firmware: { status: "verifying" }, power: "ACTIVE" }); // v4
    snap();
    s.desire({ firmware: { url: "https://fw/2" } }); // v5: a re-signed link
    snap();
    s.report({ firmware: { status: "installing" } }); // v6
    snap();
    s.report({ firmware: { version: "4.2.1", status: "completed", previousVersion: "4.1.5", errorCode: null } }); // v7
    snap();
    return { s, snapshots };
  }
  const req = (seq: number, currentVersion: number, extra: Record<string, unknown> = {}) => ({ seq, currentVersion, deviceTime: NOW - 1, ...extra });

  it("mode none when currentVersion = V", () => {
    const { s } = history();
    const d = s.sync(req(8, 7));
    expect(d).toMatchObject({ ok: true, response: { type: "sync", mode: "none", toVersion: 7 } });
  });

  it("mode delta holds exactly the changes in (currentVersion, V], desired and reported", () => {
    const { s } = history();
    expect(s.sync(req(8, 5)).ok && s.sync(req(8, 5))).toMatchObject({
      response: { type: "sync", mode: "delta", fromVersion: 5, toVersion: 7, state: { desired: {}, reported: { firmware: { status: "completed", version: "4.2.1", previousVersion: "4.1.5", errorCode: null } } } },
    });
    const d = s.sync(req(9, 3));
    expect(d).toMatchObject({
      ok: true,
      response: {
        mode: "delta",
        fromVersion: 3,
        toVersion: 7,
        state: {
          desired: { firmware: { url: "https://fw/2" } },
          reported: { firmware: { status: "completed", version: "4.2.1", previousVersion: "4.1.5", errorCode: null }, power: "ACTIVE" },
        },
      },
    });
    expect(s.sync(req(10, 6))).toMatchObject({ response: { mode: "delta", state: { desired: {}, reported: { firmware: { version: "4.2.1", status: "completed" } } } } });
  });

  it("a delta brings a device at any version within 10 to the current document", () => {
    const { s, snapshots } = history();
    for (let cv = 0; cv < 7; cv++) {
      const d = s.sync(req(100 + cv, cv));
      if (!d.ok) throw new Error(d.message);
      expect(d.response.mode, `from ${cv}`).toBe("delta");
      const changes = d.response.state as { desired: JsonObject; reported: JsonObject };
      const at = snapshots[cv]!;
      expect(mergePatch(at.desired, changes.desired), `desired from ${cv}`).toEqual(s.state.desired);
      expect(mergePatch(at.reported, changes.reported), `reported from ${cv}`).toEqual(s.state.reported);
    }
  });

  it("delta up to 10 versions behind, full from 11", () => {
    const s = new Shadow();
    for (let i = 1; i <= 25; i++) {
      if (i % 3 === 0) s.desire({ [`d${i}`]: i });
      else s.report({ [`r${i}`]: i });
    }
    expect(s.state.version).toBe(25);
    const ten = s.sync(req(1_000, 15));
    expect(ten).toMatchObject({ ok: true, response: { mode: "delta", fromVersion: 15, toVersion: 25 } });
    expect(ten.ok && ten.response.state).toEqual({
      desired: { d18: 18, d21: 21, d24: 24 },
      reported: { r16: 16, r17: 17, r19: 19, r20: 20, r22: 22, r23: 23, r25: 25 },
    });
    expect(s.sync(req(1_001, 24))).toMatchObject({ response: { mode: "delta", fromVersion: 24, state: { desired: {}, reported: { r25: 25 } } } });
    const eleven = s.sync(req(1_002, 14));
    expect(eleven).toMatchObject({ ok: true, response: { type: "sync", mode: "full", fromVersion: null, toVersion: 25 } });
    expect(s.sync(req(1_003, 0))).toMatchObject({ response: { mode: "full", fromVersion: null } });
  });

  it("mode full carries the whole document and fromVersion null", () => {
    const { s } = history();
    s.desire({ power: "ON" });
    const d = s.sync(req(8, 100));
    expect(d.ok && d.response).toEqual({
      type: "sync",
      mode: "full",
      fromVersion: null,
      toVersion: 8,
      state: { desired: s.state.desired, reported: s.state.reported, delta: computeDelta(s.state.desired, s.state.reported) },
    });
    expect(d.ok && d.response.state).toMatchObject({ delta: { firmware: { url: "https://fw/2", sha256: "aa", size: 1_048_576 }, power: "ON" } });
  });

  it.each([8, 9, 17, 1_000])("mode full when the device is ahead (currentVersion %s, V = 7)", (cv) => {
    const { s } = history();
    expect(s.sync(req(8, cv))).toMatchObject({ ok: true, response: { mode: "full", fromVersion: null, toVersion: 7 } });
  });

  it("falls back to full when it does not hold the changes (e.g. a shadow set up at version 3 by an import)", () => {
    const s = new Shadow(fresh({ version: 3, desired: { firmware: { version: "4.2.1" } } }));
    expect(s.sync(req(1, 1))).toMatchObject({ response: { mode: "full", fromVersion: null, toVersion: 3 } });
  });

  it("a seq above lastSeq becomes lastSeq, and the next update's seq may follow right after it", () => {
    const s = new Shadow(fresh({ version: 2, lastSeq: 50 }));
    const d = s.sync(req(5_000, 2));
    expect(d.ok && d.next?.lastSeq).toBe(5_000);
    expect(s.state.lastSeq).toBe(5_000);
    expect(s.update(upd({ seq: 5_001, version: 3 })).outcome).toBe("accepted");
  });

  it("resets the window after seq_window_exceeded, which is what the sync is for", () => {
    const s = new Shadow(fresh({ version: 2, lastSeq: 50 }));
    expect(s.update(upd({ seq: 400, version: 3 })).code).toBe("seq_window_exceeded");
    s.sync(req(401, 2));
    expect(s.update(upd({ seq: 402, version: 3 })).outcome).toBe("accepted");
    // the window is now measured from the sync's seq
    expect(s.update(upd({ seq: 401, version: 4 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 502, version: 4 })).outcome).toBe("accepted");
  });

  it("a seq at or below lastSeq does not lower it", () => {
    const s = new Shadow(fresh({ version: 2, lastSeq: 50 }));
    const before = s.state;
    expect(s.sync(req(10, 2))).toMatchObject({ ok: true, next: null });
    expect(s.sync(req(50, 2))).toMatchObject({ ok: true, next: null });
    expect(s.state).toBe(before);
    expect(s.update(upd({ seq: 50, version: 3 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 51, version: 3 })).outcome).toBe("accepted");
  });

  it("sets lastSeq for a device that has sent none", () => {
    const s = new Shadow();
    s.sync(req(77, 0));
    expect(s.state.lastSeq).toBe(77);
    expect(s.update(upd({ seq: 77, version: 1 })).code).toBe("out_of_order");
    expect(s.update(upd({ seq: 78, version: 1 })).outcome).toBe("accepted");
  });

  it("changes nothing but lastSeq", () => {
    const { s } = history();
    const before = s.state;
    s.sync(req(50, 3));
    expect({ ...s.state, lastSeq: before.lastSeq, recentKeys: before.recentKeys }).toEqual(before);
    expect(s.state.version).toBe(7);
  });

  it("replays within 100 of the new lastSeq are still recognised, older ones are forgotten", () => {
    const s = new Shadow();
    const a = upd({ seq: 1, version: 1 });
    const b = upd({ seq: 90, version: 2 });
    s.update(a);
    s.update(b);
    s.sync(req(150, 2));
    expect(s.update(b).outcome).toBe("duplicate");
    expect(s.update(a).code).toBe("out_of_order");
  });

  it("reports clock findings, never rejects for them", () => {
    const s = new Shadow();
    const d = s.sync(req(1, 0, { deviceTime: NOW - 1_000, ntpSyncedAt: NOW - 90_000, timezone: "America/Chicago" }));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.skewSec).toBe(1_000);
    expect(d.seq).toBe(1);
    expect(d.deviceTime).toBe(NOW - 1_000);
    expect(d.findings.map((f) => f.kind)).toEqual(["clock_drift", "ntp_stale", "timezone_unexpected"]);
  });

  it("rejects invalid, oversized, and unknown-device requests without any effect", () => {
    const st = fresh({ version: 1, lastSeq: 5 });
    expect(decideSyncRequest(device(), st, raw("{"), NOW)).toMatchObject({ ok: false, code: "invalid_payload" });
    expect(decideSyncRequest(device(), st, raw({ seq: 9, deviceTime: NOW }), NOW)).toMatchObject({ ok: false, code: "invalid_payload" });
    expect(decideSyncRequest(device(), st, raw({ seq: 9, currentVersion: -1, deviceTime: NOW }), NOW)).toMatchObject({ ok: false, code: "invalid_payload" });
    expect(decideSyncRequest(device(), st, raw({ seq: 0, currentVersion: 1, deviceTime: NOW }), NOW)).toMatchObject({ ok: false, code: "invalid_payload" });
    expect(decideSyncRequest(device(), st, raw({ seq: 9, currentVersion: 1 }), NOW)).toMatchObject({ ok: false, code: "invalid_payload" });
    expect(decideSyncRequest(device(), st, raw({ seq: 9, currentVersion: 1, deviceTime: NOW, pad: "x".repeat(8200) }), NOW)).toMatchObject({ ok: false, code: "payload_too_large" });
    expect(decideSyncRequest(null, null, raw({ seq: 9, currentVersion: 1, deviceTime: NOW, pad: "x".repeat(8200) }), NOW)).toMatchObject({ ok: false, code: "payload_too_large" });
    expect(decideSyncRequest(null, null, raw(req(9, 1)), NOW)).toMatchObject({ ok: false, code: "unknown_device" });
    expect(decideSyncRequest(device({ revoked: true }), st, raw(req(9, 1)), NOW)).toMatchObject({ ok: false, code: "unknown_device" });
    expect(decideSyncRequest(device({ registered: false }), st, raw(req(9, 1)), NOW)).toMatchObject({ ok: false, code: "unknown_device" });
  });

  it("syncMessage answers the same as a sync/request would", () => {
    const { s } = history();
    const d = s.sync(req(8, 4));
    expect(d.ok && d.response).toEqual(syncMessage(s.state, 4));
  });
});

describe("desired changes by the platform", () => {
  it("applyDesiredChange bumps the version by 1, merges desired and stamps its metadata", () => {
    const s = new Shadow();
    s.report({ firmware: { version: "4.1.5", status: "idle" } });
    const before = s.state;
    const next = applyDesiredChange(before, { firmware: { version: "4.2.1", url: "u", sha256: "s", size: 10 } }, NOW + 100.6);
    expect(next.version).toBe(before.version + 1);
    expect(next.desired).toEqual({ firmware: { version: "4.2.1", url: "u", sha256: "s", size: 10 } });
    expect(next.metadata.desired).toEqual({ firmware: { version: { timestamp: NOW + 100 }, url: { timestamp: NOW + 100 }, sha256: { timestamp: NOW + 100 }, size: { timestamp: NOW + 100 } } });
    expect(next.metadata.reported).toEqual(before.metadata.reported);
    expect(next.reported).toBe(before.reported);
    expect(next.lastSeq).toBe(before.lastSeq);
    expect(next.recentKeys).toEqual(before.recentKeys);
    expect(next.changes.at(-1)).toEqual({ v: 2, desired: { firmware: { version: "4.2.1", url: "u", sha256: "s", size: 10 } } });
    expect(before.version).toBe(1); // not mutated
  });

  it("a desired key set to null is removed", () => {
    const s = new Shadow();
    s.desire({ firmware: { version: "4.2.1", url: "u" }, power: "ON" });
    s.desire({ firmware: null });
    expect(s.state.desired).toEqual({ power: "ON" });
    expect(s.state.metadata.desired).toEqual({ power: { timestamp: NOW } });
    expect(s.state.version).toBe(2);
  });

  it("a later delta sync includes the change", () => {
    const s = new Shadow();
    s.report({ power: "ON" }); // v1
    s.desire({ firmware: { version: "4.2.1" } }); // v2
    s.desire({ firmware: { url: "https://fw/x" } }); // v3
    expect(s.sync({ seq: 2, currentVersion: 1, deviceTime: NOW })).toMatchObject({
      ok: true,
      response: { mode: "delta", fromVersion: 1, toVersion: 3, state: { desired: { firmware: { version: "4.2.1", url: "https://fw/x" } }, reported: {} } },
    });
  });

  it("deltaMessage carries the new version and the desired leaves differing from reported (PROTOCOL example)", () => {
    const s = new Shadow(fresh({ version: 46 }));
    s.report({ firmware: { version: "4.1.5", status: "idle" }, power: "ON" }); // v47
    s.desire({ firmware: { version: "4.2.1", url: "https://fw/4.2.1", sha256: "ab", size: 1_048_576 } }); // v48
    expect(deltaMessage(s.state, NOW + 1)).toEqual({
      version: 48,
      timestamp: NOW + 1,
      state: { firmware: { version: "4.2.1", url: "https://fw/4.2.1", sha256: "ab", size: 1_048_576 } },
    });
    // once the device reports the new version, only what it does not echo remains
    s.report({ firmware: { version: "4.2.1" } });
    expect(deltaMessage(s.state, NOW).state).toEqual({ firmware: { url: "https://fw/4.2.1", sha256: "ab", size: 1_048_576 } });
  });

  it("deltaMessage is empty when reported matches desired", () => {
    const s = new Shadow();
    s.report({ power: "ON" });
    s.desire({ power: "ON" });
    expect(deltaMessage(s.state, NOW)).toEqual({ version: 2, timestamp: NOW, state: {} });
  });
});

describe("shadowDocument", () => {
  it("has the shape of PROTOCOL.md's shadow/get/accepted", () => {
    const s = new Shadow(fresh({ version: 45, lastSeq: 12_845 }));
    s.report({ firmware: { version: "4.1.5", status: "idle" }, power: "ON" }); // v46
    s.desire({ firmware: { version: "4.2.1", url: "…", sha256: "…", size: 1_048_576 } }, NOW - 147); // v47
    expect(shadowDocument(s.state, { deviceClock: NOW - 2, clockSkew: 2, serverClock: NOW })).toEqual({
      state: {
        desired: { firmware: { version: "4.2.1", url: "…", sha256: "…", size: 1_048_576 } },
        reported: { firmware: { version: "4.1.5", status: "idle" }, power: "ON" },
        delta: { firmware: { version: "4.2.1", url: "…", sha256: "…", size: 1_048_576 } },
      },
      metadata: {
        reported: { firmware: { version: { timestamp: NOW }, status: { timestamp: NOW } }, power: { timestamp: NOW } },
        desired: { firmware: { version: { timestamp: NOW - 147 }, url: { timestamp: NOW - 147 }, sha256: { timestamp: NOW - 147 }, size: { timestamp: NOW - 147 } } },
        lastSeq: 12_846,
        deviceClock: NOW - 2,
        serverClock: NOW,
        clockSkew: 2,
      },
      version: 47,
      timestamp: NOW,
    });
  });

  it("has null clocks before the device reported one", () => {
    expect(shadowDocument(fresh(), { serverClock: NOW }).metadata).toMatchObject({ lastSeq: null, deviceClock: null, clockSkew: null });
  });
});
