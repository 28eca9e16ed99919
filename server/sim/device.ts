// One simulated device's side of PROTOCOL.md as a state machine without I/O:
// the fleet feeds it connection events, platform messages and clock ticks;
// it answers through `ctx.emit` (publishes, and requests to drop off the
// network). Everything time-dependent takes `now` (ms) so tests drive it.
import type { DeviceTopic, ResponseTopic } from "@/server/mqtt/topics.ts";
import { ntpSyncedAt, offlineSpellMs, type DeviceProfile, type FaultOptions } from "./faults.ts";
import { FirmwareAgent } from "./firmware.ts";
import { nextPower, num, obj, readReported, type FirmwareStatus, type Json, type Power, type ShadowUpdate } from "./messages.ts";
import { parseFirmwareTarget, type OtaRunner } from "./ota.ts";
import type { SimStats } from "./stats.ts";
import { telemetry } from "./telemetry.ts";

/** offline: no connection; syncing: sync/request sent; awaitingSync: told to resync, waiting for the platform's sync. */
export type Phase = "offline" | "syncing" | "awaitingSync" | "ready" | "awaitingResponse";

export type Effect =
  | { kind: "publish"; suffix: DeviceTopic; payload: Record<string, unknown>; retain?: boolean }
  | { kind: "disconnect"; reason: "offline" | "reboot"; downMs: number };

export type DeviceContext = {
  random: () => number;
  faults: FaultOptions;
  /** Mean time between one device's telemetry updates, ms; Infinity sends none. */
  updateIntervalMs: number;
  responseTimeoutMs: number;
  ota: OtaRunner;
  stats: SimStats;
  emit(device: SimDevice, effect: Effect): void;
};

/** What a device keeps in flash: survives reboots and simulator restarts. */
export type DeviceMemory = { seq: number; version: number; firmware: string; status: FirmwareStatus; power: Power };

type InFlight = { update: ShadowUpdate; report: boolean };

/** After a version or sequence rejection the platform publishes a sync; ask for one if it does not come. */
const SYNC_WAIT_MS = 3000;

export class SimDevice {
  phase: Phase = "offline";
  /** When the current wait (response, sync) times out, ms. */
  deadline = 0;
  nextUpdateAt = 0;
  private inflight: InFlight[] = [];
  private timeouts = 0;
  /** A firmware report waiting to be accepted; telemetry waits behind it. */
  private pendingReport: Json | null = null;
  private readonly firmwareAgent = new FirmwareAgent();
  private knowsDesired = false;
  /** A sync arrived since the last update was sent (it can overtake the rejection that caused it). */
  private syncedSinceSend = false;

  constructor(
    readonly id: string,
    readonly type: string,
    readonly profile: DeviceProfile,
    /** Mutated in place; the fleet persists it. */
    readonly memory: DeviceMemory,
    private readonly ctx: DeviceContext,
  ) {}

  /** The MQTT session is up (and subscribed): announce, then sync. */
  connected(now: number): void {
    this.publish("status", { online: true }, true);
    this.nextUpdateAt = now + this.ctx.random() * Math.min(this.ctx.updateIntervalMs, 3_600_000);
    this.requestSync(now);
  }

  disconnected(): void {
    this.phase = "offline";
    this.inflight = [];
    this.timeouts = 0;
  }

  tick(now: number): void {
    if (this.phase === "ready") return this.whenReady(now);
    if (this.phase === "offline" || now < this.deadline) return;
    this.ctx.stats.timeouts++;
    if (this.phase === "syncing") this.phase = "ready"; // nobody answered: carry on with what the device knows
    else if (this.phase === "awaitingSync") this.requestSync(now);
    else this.responseTimedOut(now);
  }

  receive(suffix: ResponseTopic, body: Json, now: number): void {
    if (this.phase === "offline") return;
    if (suffix === "shadow/update/accepted") this.onAccepted(body, now);
    else if (suffix === "shadow/update/rejected") this.onRejected(body, now);
    else if (suffix === "sync") this.onSync(body, now);
    else if (suffix === "shadow/delta") this.onDelta(body);
    else this.onDocument(body);
  }

  private whenReady(now: number): void {
    if (this.pendingReport === null) this.advanceFirmware(now);
    if (this.phase !== "ready") return;
    if (this.pendingReport !== null) return this.sendUpdate(now, this.pendingReport, true);
    if (now < this.nextUpdateAt) return;
    this.nextUpdateAt = now + this.ctx.updateIntervalMs * (0.5 + this.ctx.random());
    const reported: Json = telemetry(this.type, this.profile.seed, now, this.memory.power, this.ctx.random);
    const power = nextPower(this.memory.power, this.ctx.random());
    if (power !== this.memory.power) reported.power = power;
    this.sendUpdate(now, reported, false);
  }

  /** Moves a firmware update one step on; the step's report waits in pendingReport until accepted. */
  private advanceFirmware(now: number): void {
    const { ota, random, stats } = this.ctx;
    const step = this.firmwareAgent.next(now, this.memory.firmware, this.memory.status, ota, random, stats);
    if (step?.kind === "reboot") {
      stats.reboots++;
      this.dropOff("reboot", step.downMs);
    } else if (step) this.pendingReport = step.reported;
  }

  private sendUpdate(now: number, reported: Json, report: boolean): void {
    const { faults, random, stats } = this.ctx;
    if (random() < faults.seqJump) {
      this.memory.seq += 101 + Math.floor(random() * 50);
      stats.seqJumps++;
    }
    const first = this.buildUpdate(now, reported, this.memory.version + 1);
    this.inflight = [{ update: first, report }];
    this.syncedSinceSend = false;
    if (!report && random() < faults.reorder) {
      // The next update overtakes this one: the platform sees seq n+1 before n.
      const power = this.memory.power; // no power change in the second: it must not depend on the first
      const second = this.buildUpdate(now, telemetry(this.type, this.profile.seed, now, power, random), this.memory.version + 2);
      this.inflight.push({ update: second, report: false });
      this.publishUpdate(second);
      stats.reordered++;
    }
    this.publishUpdate(first);
    if (random() < faults.duplicates) {
      this.publishUpdate(first);
      stats.duplicatesSent++;
    }
    this.phase = "awaitingResponse";
    this.deadline = now + this.ctx.responseTimeoutMs;
    if (random() < faults.offline) {
      stats.offlineSpells++;
      this.dropOff("offline", offlineSpellMs(faults, random));
    }
  }

  private buildUpdate(now: number, reported: Json, version: number): ShadowUpdate {
    const seq = ++this.memory.seq;
    return { seq, version, ...this.clock(now), clientToken: `s${seq}`, state: { reported } };
  }

  private clock(now: number) {
    const deviceMs = Math.floor(now + this.profile.clockSkewMs);
    return { deviceTime: deviceMs / 1000, ntpSyncedAt: ntpSyncedAt(this.profile, deviceMs), timezone: this.profile.timezone };
  }

  private onAccepted(body: Json, now: number): void {
    const { stats } = this.ctx;
    stats.accepted++;
    if (body.duplicate === true) stats.duplicateAcks++;
    const done = this.takeInflight(body.clientToken);
    const version = num(body.version);
    if (!done) {
      stats.lateResponses++;
      if (version !== null && version > this.memory.version) this.memory.version = version;
      return;
    }
    this.memory.version = version ?? done.update.version;
    this.adoptReported(done.update.state.reported);
    if (done.report) this.pendingReport = null;
    this.timeouts = 0;
    this.settle(now);
  }

  private onRejected(body: Json, now: number): void {
    const { stats } = this.ctx;
    const code = typeof body.code === "string" ? body.code : "unknown";
    stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
    const lastSeq = num(body.lastSeq);
    if (lastSeq !== null && lastSeq > this.memory.seq) this.memory.seq = lastSeq; // e.g. state lost: continue past the platform's
    const done = this.takeInflight(body.clientToken);
    if (!done) {
      stats.lateResponses++;
      return;
    }
    if (code === "stale_version" || code === "version_gap" || code === "out_of_order") {
      const current = num(body.currentVersion);
      if (current !== null && code !== "out_of_order" && !this.syncedSinceSend) this.memory.version = current;
      return this.syncedSinceSend ? this.settle(now) : this.waitForSync(now);
    }
    // The platform only moves lastSeq on from a sync/request: ask for one.
    if (code === "seq_window_exceeded") return this.requestSync(now);
    if (code === "invalid_transition") this.adoptTransition(body);
    if (done.report) {
      this.pendingReport = null;
      this.firmwareAgent.abort(stats);
    }
    this.settle(now);
  }

  private onSync(body: Json, now: number): void {
    const { stats } = this.ctx;
    stats.syncs++;
    this.syncedSinceSend = true;
    const state = obj(body.state) ?? {};
    this.adoptShadow(num(body.toVersion) ?? num(state.version), state);
    this.publish("sync/complete", { seq: ++this.memory.seq, version: this.memory.version });
    stats.syncCompletes++;
    if (!this.knowsDesired) {
      // A delta or none sync says nothing about desired state set earlier: read it once per boot.
      this.knowsDesired = true;
      if (body.mode !== "full") this.publish("shadow/get", { clientToken: "boot" });
    }
    if (this.phase === "syncing" || this.phase === "awaitingSync") {
      this.timeouts = 0;
      this.phase = this.inflight.length > 0 ? "awaitingResponse" : "ready";
      this.deadline = now + this.ctx.responseTimeoutMs;
    }
  }

  private onDelta(body: Json): void {
    this.ctx.stats.deltas++;
    const version = num(body.version);
    if (version !== null && version > this.memory.version) this.memory.version = version;
    this.firmwareAgent.consider(parseFirmwareTarget(obj(body.state)?.firmware), true, this.memory.firmware);
  }

  /** shadow/get/accepted. With an update in flight its version and reported state may already be old. */
  private onDocument(body: Json): void {
    const state = obj(body.state) ?? {};
    if (this.inflight.length === 0) this.adoptShadow(num(body.version), state);
    else this.adoptShadow(null, { delta: state.delta }); // mid-update: only the desired firmware is news
  }

  /** The platform's view (a sync, the document): its version and reported state, and a desired firmware to install. */
  private adoptShadow(version: number | null, state: Json): void {
    if (version !== null) this.memory.version = version;
    this.adoptReported(state.reported);
    const firmware = obj(state.delta)?.firmware ?? obj(state.desired)?.firmware;
    this.firmwareAgent.consider(parseFirmwareTarget(firmware), false, this.memory.firmware);
  }

  private requestSync(now: number): void {
    this.inflight = [];
    this.phase = "syncing";
    this.deadline = now + this.ctx.responseTimeoutMs;
    this.ctx.stats.syncRequests++;
    this.publish("sync/request", { seq: ++this.memory.seq, currentVersion: this.memory.version, ...this.clock(now) });
  }

  private waitForSync(now: number): void {
    this.phase = "awaitingSync";
    this.deadline = now + Math.min(SYNC_WAIT_MS, this.ctx.responseTimeoutMs);
  }

  /** No answer: re-send once unchanged (as a QoS 1 retry would), then resync. */
  private responseTimedOut(now: number): void {
    if (++this.timeouts > 1) {
      this.timeouts = 0;
      return this.requestSync(now);
    }
    for (const f of this.inflight) this.publishUpdate(f.update);
    this.ctx.stats.resent += this.inflight.length;
    this.deadline = now + this.ctx.responseTimeoutMs;
  }

  private settle(now: number): void {
    if (this.phase === "awaitingResponse" && this.inflight.length === 0) this.phase = "ready";
    else if (this.phase === "awaitingResponse") this.deadline = now + this.ctx.responseTimeoutMs;
  }

  private takeInflight(token: unknown): InFlight | undefined {
    const i = this.inflight.findIndex((f) => f.update.clientToken === token);
    return i < 0 ? undefined : this.inflight.splice(i, 1)[0];
  }

  private adoptReported(value: unknown): void {
    Object.assign(this.memory, readReported(value));
  }

  /** invalid_transition names what the platform holds (`from`): believe it. */
  private adoptTransition(body: Json): void {
    if (body.attribute === "power") this.adoptReported({ power: body.from });
    if (body.attribute === "firmware.status") this.adoptReported({ firmware: { status: body.from } });
  }

  private dropOff(reason: "offline" | "reboot", downMs: number): void {
    this.disconnected();
    this.ctx.emit(this, { kind: "disconnect", reason, downMs });
  }

  private publishUpdate(update: ShadowUpdate): void {
    this.ctx.stats.updatesSent++;
    this.publish("shadow/update", update);
  }

  private publish(suffix: DeviceTopic, payload: Record<string, unknown>, retain = false): void {
    this.ctx.emit(this, { kind: "publish", suffix, payload, retain });
  }
}
