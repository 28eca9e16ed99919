// What a device's shadow says about its firmware update, and whether that is
// news for an execution. The controller reads shadows, not individual
// messages, so it must tell a report made after the notification from a
// status left over from an earlier update ("completed" on the old version).
export type FirmwareReport = { status: string; version: string | null; errorCode: string | null; at: number };

const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** The firmware part of a shadow: status, version, error code and the server time (unix s) the status was last reported. */
export function readFirmwareReport(reported: unknown, metadata: unknown): FirmwareReport | null {
  const fw = obj(obj(reported)?.firmware);
  const status = str(fw?.status);
  if (!fw || status === null) return null;
  const stamp = obj(obj(obj(obj(metadata)?.reported)?.firmware)?.status)?.timestamp;
  return {
    status,
    version: str(fw.version),
    errorCode: str(fw.errorCode) ?? (typeof fw.errorCode === "number" ? String(fw.errorCode) : null),
    at: typeof stamp === "number" ? stamp : 0,
  };
}

/**
 * A report counts for an execution notified at `notifiedAt` (unix s, fractional)
 * when its status was stamped after that second; within the same whole second
 * (stamps are whole seconds) only when it differs from what was last seen.
 */
export function isNewReport(report: FirmwareReport, notifiedAt: number, last: { status: string | null; version: string | null }): boolean {
  const second = Math.floor(notifiedAt);
  if (report.at > second) return true;
  if (report.at < second) return false;
  return report.status !== last.status || report.version !== last.version;
}
