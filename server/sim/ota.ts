// Firmware updates as a device performs them: download the signed URL,
// verify SHA-256, install, reboot, report. Durations are realistic and
// divided by `speed` (--ota-speed). `--fail-rate VERSION=P` injects failures.
import { createHash } from "node:crypto";

export type FirmwareTarget = { version: string; url: string; sha256: string; size: number };
export type OtaPhase = "downloading" | "verifying" | "installing" | "rebooting";
type OtaErrorCode = "E_DOWNLOAD" | "E_CHECKSUM" | "E_INSTALL";
export type Download = { ok: true; sha256: string; bytes: number } | { ok: false; detail: string };

export type OtaJob = {
  target: FirmwareTarget;
  previousVersion: string;
  startedAt: number;
  phase: OtaPhase;
  /** When the current phase's (simulated) work is done, ms. */
  stepAt: number;
  /** The phase an injected failure strikes in, if any. */
  failAt: OtaPhase | null;
  /** Set when the fetch settles; null while it runs. */
  download: Download | null;
};

/** A firmware report for `state.reported.firmware`, or a request to reboot the device. */
export type OtaStep =
  | { kind: "report"; firmware: Record<string, unknown>; outcome?: "completed" | "failed" }
  | { kind: "reboot"; downMs: number };

export type OtaSettings = {
  /** Time-scale factor: 10 runs every phase ten times faster. */
  speed: number;
  /** Firmware version (or "*") → probability that an update to it fails. */
  failRates: Map<string, number>;
  /** Downloads running at once in this process. */
  concurrency: number;
};

const DOWNLOAD_BYTES_PER_SEC = 256 * 1024;
const VERIFY_MS = 1500;
const INSTALL_MS = 20_000;
const REBOOT_MS = 8000;
const FETCH_TIMEOUT_MS = 5 * 60_000;

export function parseFirmwareTarget(value: unknown): FirmwareTarget | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.version !== "string" || typeof v.url !== "string" || typeof v.sha256 !== "string") return null;
  return { version: v.version, url: v.url, sha256: v.sha256, size: typeof v.size === "number" ? v.size : 0 };
}

const normalizeSha = (sha: string) => sha.replace(/^sha256:/i, "").toLowerCase();

export class OtaRunner {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly settings: OtaSettings) {}

  failRate(version: string): number {
    return this.settings.failRates.get(version) ?? this.settings.failRates.get("*") ?? 0;
  }

  /** `ms` of device time, scaled by --ota-speed and jittered by ±20%. */
  scaled(ms: number, random: () => number): number {
    return Math.round((ms * (0.8 + 0.4 * random())) / this.settings.speed);
  }

  /** Fetches the image, hashing it as it streams; never holds the whole image. */
  async download(url: string): Promise<Download> {
    if (this.running >= this.settings.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        return { ok: false, detail: `HTTP ${res.status}` };
      }
      const hash = createHash("sha256");
      let bytes = 0;
      const reader = res.body.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        hash.update(chunk.value);
        bytes += chunk.value.byteLength;
      }
      return { ok: true, sha256: hash.digest("hex"), bytes };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** Starts an update: the job and its first firmware report (`downloading`). */
export function startOta(target: FirmwareTarget, currentVersion: string, now: number, runner: OtaRunner, random: () => number): { job: OtaJob; firmware: Record<string, unknown> } {
  let failAt: OtaPhase | null = null;
  if (random() < runner.failRate(target.version)) {
    const r = random();
    failAt = r < 0.4 ? "downloading" : r < 0.7 ? "verifying" : "installing";
  }
  const job: OtaJob = {
    target,
    previousVersion: currentVersion,
    startedAt: now,
    phase: "downloading",
    stepAt: now + runner.scaled(Math.max(2000, (target.size / DOWNLOAD_BYTES_PER_SEC) * 1000), random),
    failAt,
    download: null,
  };
  if (failAt === "downloading") job.download = { ok: false, detail: "injected failure" };
  else void runner.download(target.url).then((d) => (job.download = d));
  return { job, firmware: { status: "downloading", errorCode: null } };
}

function failed(job: OtaJob, code: OtaErrorCode, now: number): OtaStep {
  const updateDuration = Math.round((now - job.startedAt) / 1000);
  return { kind: "report", outcome: "failed", firmware: { status: "failed", errorCode: code, updateDuration } };
}

/** The next step of a job once its current phase is done, or null while it is still working. */
export function advanceOta(job: OtaJob, now: number, runner: OtaRunner, random: () => number): OtaStep | null {
  if (now < job.stepAt) return null;
  switch (job.phase) {
    case "downloading":
      if (job.download === null) return null; // still fetching: a slow link, not a failure
      if (!job.download.ok) return failed(job, "E_DOWNLOAD", now);
      job.phase = "verifying";
      job.stepAt = now + runner.scaled(VERIFY_MS + (job.download.bytes / (20 * 1024 * 1024)) * 1000, random);
      return { kind: "report", firmware: { status: "verifying" } };
    case "verifying": {
      const d = job.download;
      const intact = d?.ok === true && d.sha256 === normalizeSha(job.target.sha256) && (job.target.size <= 0 || d.bytes === job.target.size);
      if (!intact || job.failAt === "verifying") return failed(job, "E_CHECKSUM", now);
      job.phase = "installing";
      job.stepAt = now + runner.scaled(INSTALL_MS, random);
      return { kind: "report", firmware: { status: "installing" } };
    }
    case "installing": {
      if (job.failAt === "installing") return failed(job, "E_INSTALL", now);
      const downMs = runner.scaled(REBOOT_MS, random);
      job.phase = "rebooting";
      job.stepAt = now + downMs;
      return { kind: "reboot", downMs };
    }
    case "rebooting": {
      const sha = job.download?.ok ? job.download.sha256 : normalizeSha(job.target.sha256);
      return {
        kind: "report",
        outcome: "completed",
        firmware: {
          version: job.target.version,
          status: "completed",
          checksum: `sha256:${sha}`,
          previousVersion: job.previousVersion,
          updateDuration: Math.round((now - job.startedAt) / 1000),
          errorCode: null,
        },
      };
    }
  }
}
