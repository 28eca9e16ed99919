// Where the machine's CPU went during a phase: the bench itself (the load),
// the worker, Mosquitto, the PostgreSQL backends serving the bench database,
// and everything else on the machine (other sessions' work shows up there).
import { performance } from "node:perf_hooks";
import type { PgStats } from "./database.ts";
import { cpuSeconds, machineCpu } from "./proc.ts";

export type CpuSplit = {
  wallSec: number;
  /** Cores used on average (CPU seconds / wall seconds). */
  cores: { bench: number; worker: number; mosquitto: number; postgres: number; otherOnMachine: number; machineBusy: number; machineIdle: number };
  /** CPU milliseconds per 1000 messages handled in the phase: unlike rates, this barely depends on what else the machine runs. */
  msPer1000?: { bench: number; worker: number; mosquitto: number; postgres: number; total: number };
};

export class CpuMeter {
  private startWall = 0;
  private start = { bench: 0, worker: 0, mosquitto: 0, machine: { busy: 0, total: 0 } };
  private pgStart = new Map<number, number>();

  constructor(
    private readonly pids: { worker?: number; mosquitto: number },
    private readonly pg: PgStats,
    private readonly database: string,
  ) {}

  private bench() {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }

  async begin(): Promise<void> {
    this.pgStart.clear();
    for (const pid of await this.pg.backendPids(this.database)) this.pgStart.set(pid, cpuSeconds(pid));
    this.start = {
      bench: this.bench(),
      worker: this.pids.worker ? cpuSeconds(this.pids.worker) : 0,
      mosquitto: cpuSeconds(this.pids.mosquitto),
      machine: machineCpu(),
    };
    this.startWall = performance.now();
  }

  async end(messages = 0): Promise<CpuSplit> {
    const wallSec = (performance.now() - this.startWall) / 1000;
    const machine = machineCpu();
    const bench = this.bench() - this.start.bench;
    const worker = this.pids.worker ? cpuSeconds(this.pids.worker) - this.start.worker : 0;
    const mosquitto = cpuSeconds(this.pids.mosquitto) - this.start.mosquitto;
    let postgres = 0;
    for (const pid of await this.pg.backendPids(this.database)) postgres += cpuSeconds(pid) - (this.pgStart.get(pid) ?? 0);
    const busy = machine.busy - this.start.machine.busy;
    const total = machine.total - this.start.machine.total;
    const per = (s: number) => Math.round((s / wallSec) * 100) / 100;
    const perK = (s: number) => Math.round((s / messages) * 1000 * 1000);
    return {
      ...(messages > 0
        ? { msPer1000: { bench: perK(bench), worker: perK(worker), mosquitto: perK(mosquitto), postgres: perK(postgres), total: perK(bench + worker + mosquitto + postgres) } }
        : {}),
      wallSec: Math.round(wallSec * 10) / 10,
      cores: {
        bench: per(bench),
        worker: per(worker),
        mosquitto: per(mosquitto),
        postgres: per(postgres),
        otherOnMachine: per(Math.max(0, busy - bench - worker - mosquitto - postgres)),
        machineBusy: per(busy),
        machineIdle: per(total - busy),
      },
    };
  }
}
