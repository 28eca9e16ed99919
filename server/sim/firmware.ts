// A device's firmware agent: which desired firmware to install and when, and
// the report each step produces. ota.ts does the work of a step (download,
// verify, timings); this decides. One report at a time: the device asks for
// the next step only once the previous report was accepted.
import type { FirmwareStatus, Json } from "./messages.ts";
import { IN_PROGRESS } from "./messages.ts";
import { advanceOta, startOta, type FirmwareTarget, type OtaJob, type OtaRunner } from "./ota.ts";
import type { SimStats } from "./stats.ts";

export type FirmwareStep = { kind: "report"; reported: Json } | { kind: "reboot"; downMs: number };

const targetKey = (t: FirmwareTarget) => `${t.version}:${t.sha256}`;

export class FirmwareAgent {
  private job: OtaJob | null = null;
  private wanted: FirmwareTarget | null = null;
  private failedTarget: string | null = null;

  /**
   * A desired firmware seen in a delta (`explicit`), a sync or the document.
   * A target that failed here is retried only when the platform publishes it
   * again as a delta (a rollout retry), not on every sync.
   */
  consider(target: FirmwareTarget | null, explicit: boolean, running: string): void {
    if (target === null) return;
    if (target.version === running) this.wanted = null;
    else if (this.job?.target.version === target.version) return;
    else if (explicit || this.failedTarget !== targetKey(target)) this.wanted = target;
  }

  next(now: number, running: string, status: FirmwareStatus, runner: OtaRunner, random: () => number, stats: SimStats): FirmwareStep | null {
    if (this.job) {
      const step = advanceOta(this.job, now, runner, random);
      if (step === null) return null;
      if (step.kind === "reboot") return step;
      if (step.outcome === "failed") this.failedTarget = targetKey(this.job.target);
      if (step.outcome) {
        stats.ota[step.outcome]++;
        this.job = null;
      }
      return { kind: "report", reported: { firmware: step.firmware } };
    }
    // An update this process did not start (the simulator restarted mid-update) died with it.
    if (IN_PROGRESS.has(status)) return { kind: "report", reported: { firmware: { status: "failed", errorCode: "E_INTERRUPTED" } } };
    const target = this.wanted;
    this.wanted = null;
    if (target === null || target.version === running) return null;
    const { job, firmware } = startOta(target, running, now, runner, random);
    stats.ota.started++;
    this.job = job;
    return { kind: "report", reported: { firmware } };
  }

  /** The platform refused a report: resending it cannot succeed, so the update is abandoned. */
  abort(stats: SimStats): void {
    if (this.job) stats.ota.aborted++;
    this.job = null;
  }
}
