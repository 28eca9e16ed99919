// The benchmark's load: many devices carried by a few gateway-style MQTT.js
// connections on the platform listener (the device listener's ACL would need
// one connection per device: client id = username = device id). Each device
// keeps its own seq and version and, like a real device, waits for the answer
// to an update before it sends the next one (it needs the answer to know its
// next version). Answers come back through one collector connection
// subscribed to every device's response topics.
import { performance } from "node:perf_hooks";
import mqtt, { type MqttClient } from "mqtt";
import { sleep } from "./proc.ts";

export type BrokerLogin = { url: string; username: string; password: string };

type Device = {
  id: string;
  publisher: number;
  seq: number;
  version: number;
  /** Version of the update in flight, 0 when idle. */
  pending: number;
  sentAt: number;
  syncSentAt: number;
};

export type RunResult = {
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectCodes: Record<string, number>;
  /** performance.now() of the first publish and of the last answer. */
  startedAt: number;
  endedAt: number;
  /** Answers per elapsed second since startedAt. */
  perSecond: number[];
  /** publish → accepted, ms, for every accepted update, and when (ms after startedAt) it arrived. */
  latenciesMs: number[];
  acceptedAtMs: number[];
  /** When each answer arrived, ms after startedAt. */
  answeredAtMs: number[];
  /** Paced runs: slots for which no device was idle (the load could not keep its rate). */
  starved: number;
  complete: boolean;
};

export type SyncResult = { requested: number; answered: number; modes: Record<string, number>; startedAt: number; endedAt: number; complete: boolean };

const CLIENT_BASE = { protocolVersion: 4 as const, clean: true, reconnectPeriod: 0, keepalive: 60, connectTimeout: 10_000 };

async function connectClient(login: BrokerLogin, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(login.url, { ...CLIENT_BASE, clientId, username: login.username, password: login.password });
}

type ActiveRun = RunResult & { onAnswer?: (d: Device) => void };

function newResult(): ActiveRun {
  return { sent: 0, accepted: 0, duplicates: 0, rejected: 0, rejectCodes: {}, startedAt: 0, endedAt: 0, perSecond: [], latenciesMs: [], acceptedAtMs: [], answeredAtMs: [], starved: 0, complete: false };
}

export class Fleet {
  private readonly devices: Device[];
  private readonly byId = new Map<string, Device>();
  private publishers: MqttClient[] = [];
  private collector: MqttClient | null = null;
  private run: ActiveRun | null = null;
  private sync: (SyncResult & { waiting: Set<string> }) | null = null;
  private readonly prefix = "fleet";

  constructor(ids: string[], readonly publisherCount: number, private readonly login: BrokerLogin, start = { seq: 0, version: 0 }) {
    this.devices = ids.map((id, i) => ({ id, publisher: i % publisherCount, seq: start.seq, version: start.version, pending: 0, sentAt: 0, syncSentAt: 0 }));
    for (const d of this.devices) this.byId.set(d.id, d);
  }

  get size() {
    return this.devices.length;
  }

  async connect(): Promise<void> {
    const tag = Math.random().toString(36).slice(2, 8);
    this.collector = await connectClient(this.login, `bench-collector-${tag}`);
    this.collector.on("message", (topic, payload) => this.onMessage(topic, payload));
    await this.collector.subscribeAsync(
      [`${this.prefix}/+/shadow/update/accepted`, `${this.prefix}/+/shadow/update/rejected`, `${this.prefix}/+/sync`],
      { qos: 1 },
    );
    this.publishers = await Promise.all(Array.from({ length: this.publisherCount }, (_, i) => connectClient(this.login, `bench-gw-${i}-${tag}`)));
  }

  async close(): Promise<void> {
    const all = [...this.publishers, ...(this.collector ? [this.collector] : [])];
    this.publishers = [];
    this.collector = null;
    await Promise.all(all.map((c) => Promise.race([c.endAsync(true), sleep(3000)]).catch(() => undefined)));
  }

  private sendUpdate(d: Device): void {
    d.seq++;
    d.pending = d.version + 1;
    const body = JSON.stringify({
      seq: d.seq,
      version: d.pending,
      deviceTime: Date.now() / 1000,
      state: { reported: { temperature: Math.round((20 + Math.random() * 5) * 10) / 10, rssi: -40 - Math.floor(Math.random() * 40) } },
    });
    const run = this.run!;
    d.sentAt = performance.now();
    if (run.sent === 0) run.startedAt = d.sentAt;
    run.sent++;
    this.publishers[d.publisher]!.publish(`${this.prefix}/${d.id}/shadow/update`, body, { qos: 1 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const now = performance.now();
    const first = topic.indexOf("/");
    const second = topic.indexOf("/", first + 1);
    const d = this.byId.get(topic.slice(first + 1, second));
    if (!d) return;
    const suffix = topic.slice(second + 1);
    if (suffix === "sync") return this.onSync(d, payload, now);
    const run = this.run;
    if (!run || d.pending === 0) return;
    const body = JSON.parse(payload.toString()) as { version?: number; duplicate?: boolean; code?: string; currentVersion?: number; lastSeq?: number };
    if (suffix === "shadow/update/accepted") {
      if (body.version !== d.pending) return; // an answer to something else (a redelivery)
      run.accepted++;
      if (body.duplicate) run.duplicates++;
      run.latenciesMs.push(now - d.sentAt);
      run.acceptedAtMs.push(now - run.startedAt);
      d.version = d.pending;
    } else {
      run.rejected++;
      const code = body.code ?? "unknown";
      run.rejectCodes[code] = (run.rejectCodes[code] ?? 0) + 1;
      if (typeof body.currentVersion === "number") d.version = body.currentVersion;
      if (typeof body.lastSeq === "number" && body.lastSeq > d.seq) d.seq = body.lastSeq;
    }
    d.pending = 0;
    run.endedAt = now;
    run.answeredAtMs.push(now - run.startedAt);
    const second_ = Math.floor((now - run.startedAt) / 1000);
    run.perSecond[second_] = (run.perSecond[second_] ?? 0) + 1;
    run.onAnswer?.(d);
  }

  private onSync(d: Device, payload: Buffer, now: number): void {
    const s = this.sync;
    if (!s || !s.waiting.delete(d.id)) return;
    const body = JSON.parse(payload.toString()) as { mode?: string; toVersion?: number };
    s.answered++;
    s.modes[body.mode ?? "?"] = (s.modes[body.mode ?? "?"] ?? 0) + 1;
    if (typeof body.toVersion === "number") d.version = body.toVersion;
    s.endedAt = now;
  }

  /** Waits until `done()` or until no answer arrived for `stallMs`. */
  private async settle(done: () => boolean, progress: () => number, stallMs: number): Promise<boolean> {
    let last = progress();
    let lastChange = Date.now();
    while (!done()) {
      await sleep(20);
      const p = progress();
      if (p !== last) {
        last = p;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > stallMs) return false;
    }
    return true;
  }

  /**
   * Unpaced: every device has one update in flight at a time and sends its
   * next one as soon as the answer arrives, until `total` updates were sent.
   */
  async closedLoop(total: number, { stallMs = 30_000 } = {}): Promise<RunResult> {
    const run = newResult();
    this.run = run;
    run.onAnswer = (d) => {
      if (run.sent < total) this.sendUpdate(d);
    };
    for (const d of this.devices) {
      if (run.sent >= total) break;
      this.sendUpdate(d);
    }
    run.complete = await this.settle(() => run.accepted + run.rejected >= total, () => run.accepted + run.rejected, stallMs);
    this.run = null;
    return run;
  }

  /**
   * Paced at `ratePerSec` for `durationMs`: each slot goes to the device idle
   * longest; a device with an update in flight waits for its answer.
   */
  async paced(ratePerSec: number, durationMs: number, { onTick }: { onTick?: (elapsedMs: number) => void } = {}): Promise<RunResult> {
    const run = newResult();
    this.run = run;
    const idle: Device[] = [...this.devices];
    let head = 0; // idle is used as a FIFO queue: [head, length)
    run.onAnswer = (d) => {
      idle.push(d);
    };
    const start = performance.now();
    let slots = 0;
    let lastTickReport = 0;
    while (performance.now() - start < durationMs) {
      const elapsed = performance.now() - start;
      const due = Math.floor((ratePerSec * elapsed) / 1000);
      for (; slots < due; slots++) {
        if (head >= idle.length) {
          run.starved++;
          continue;
        }
        this.sendUpdate(idle[head++]!);
      }
      if (head > 100_000) {
        idle.splice(0, head);
        head = 0;
      }
      if (onTick && elapsed - lastTickReport >= 1000) {
        lastTickReport = elapsed;
        onTick(elapsed);
      }
      await sleep(2);
    }
    const target = run.sent;
    run.complete = await this.settle(() => run.accepted + run.rejected >= target, () => run.accepted + run.rejected, 15_000);
    this.run = null;
    return run;
  }

  /** Every device sends sync/request at once (a fleet-wide reconnect); resolves once every sync answer arrived. */
  async syncAll({ stallMs = 30_000 } = {}): Promise<SyncResult> {
    const s: SyncResult & { waiting: Set<string> } = { requested: 0, answered: 0, modes: {}, startedAt: performance.now(), endedAt: 0, complete: false, waiting: new Set() };
    this.sync = s;
    for (const d of this.devices) {
      d.seq++;
      s.waiting.add(d.id);
      d.syncSentAt = performance.now();
      const body = JSON.stringify({ seq: d.seq, currentVersion: d.version, deviceTime: Date.now() / 1000 });
      this.publishers[d.publisher]!.publish(`${this.prefix}/${d.id}/sync/request`, body, { qos: 1 });
      s.requested++;
    }
    s.complete = await this.settle(() => s.waiting.size === 0, () => s.answered, stallMs);
    this.sync = null;
    return s;
  }
}

/**
 * The broker's own limit: `publishers` connections publish `total` QoS 1
 * messages (the same payload shape as the updates), each keeping up to
 * `window` unacknowledged, to one MQTT.js subscriber that acknowledges on
 * receipt (MQTT.js's normal behaviour).
 */
export async function passThrough(login: BrokerLogin, ids: string[], total: number, publishers: number, window = 1000) {
  const tag = Math.random().toString(36).slice(2, 8);
  const sub = await connectClient(login, `bench-pt-sub-${tag}`);
  const pubs = await Promise.all(Array.from({ length: publishers }, (_, i) => connectClient(login, `bench-pt-pub-${i}-${tag}`)));
  let received = 0;
  let lastAt = 0;
  let startedAt = 0;
  sub.on("message", () => {
    received++;
    lastAt = performance.now();
  });
  await sub.subscribeAsync("bench/pt/#", { qos: 1 });
  const quota = (i: number) => Math.floor(total / publishers) + (i < total % publishers ? 1 : 0);
  const payloadFor = (n: number, id: string) =>
    JSON.stringify({ seq: n + 1, version: n + 1, deviceTime: Date.now() / 1000, state: { reported: { temperature: 21.5, rssi: -55, id } } });
  startedAt = performance.now();
  await Promise.all(
    pubs.map(
      (pub, i) =>
        new Promise<void>((resolve) => {
          const mine = quota(i);
          let sent = 0;
          let acked = 0;
          let inflight = 0;
          const pump = () => {
            while (inflight < window && sent < mine) {
              const id = ids[(sent * publishers + i) % ids.length]!;
              inflight++;
              pub.publish(`bench/pt/${id}`, payloadFor(sent, id), { qos: 1 }, () => {
                inflight--;
                acked++;
                if (acked === mine) resolve();
                else pump();
              });
              sent++;
            }
          };
          if (mine === 0) resolve();
          else pump();
        }),
    ),
  );
  const deadline = Date.now() + 30_000;
  while (received < total && Date.now() < deadline) await sleep(10);
  await Promise.all([...pubs, sub].map((c) => c.endAsync(true).catch(() => undefined)));
  return { total, received, seconds: (lastAt - startedAt) / 1000, perSec: received / ((lastAt - startedAt) / 1000), complete: received >= total };
}
