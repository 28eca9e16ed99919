// Counters the devices and the fleet bump, and the one-line summary the CLI
// prints every few seconds.

export type SimStats = {
  devices: number;
  connected: number;
  /** shadow/update publishes, including re-sends and injected duplicates. */
  updatesSent: number;
  /** Responses on shadow/update/accepted, including duplicate acknowledgements. */
  accepted: number;
  duplicateAcks: number;
  rejected: Record<string, number>;
  /** Responses that matched no update in flight (answers to retries, late answers). */
  lateResponses: number;
  duplicatesSent: number;
  reordered: number;
  seqJumps: number;
  resent: number;
  timeouts: number;
  syncRequests: number;
  syncs: number;
  syncCompletes: number;
  deltas: number;
  ota: { started: number; completed: number; failed: number; aborted: number };
  offlineSpells: number;
  reboots: number;
  connects: number;
  connectErrors: number;
  massReconnects: number;
  lastError: string | null;
};

export function newStats(devices: number): SimStats {
  return {
    devices,
    connected: 0,
    updatesSent: 0,
    accepted: 0,
    duplicateAcks: 0,
    rejected: {},
    lateResponses: 0,
    duplicatesSent: 0,
    reordered: 0,
    seqJumps: 0,
    resent: 0,
    timeouts: 0,
    syncRequests: 0,
    syncs: 0,
    syncCompletes: 0,
    deltas: 0,
    ota: { started: 0, completed: 0, failed: 0, aborted: 0 },
    offlineSpells: 0,
    reboots: 0,
    connects: 0,
    connectErrors: 0,
    massReconnects: 0,
    lastError: null,
  };
}

export function copyStats(s: SimStats): SimStats {
  return { ...s, rejected: { ...s.rejected }, ota: { ...s.ota } };
}

/** One line: connected devices, updates/s since `prev`, and the running totals. */
export function formatSummary(now: SimStats, prev: SimStats, seconds: number, elapsedSec: number): string {
  const rate = (now.updatesSent - prev.updatesSent) / Math.max(seconds, 0.001);
  const rejected = Object.entries(now.rejected)
    .map(([code, n]) => `${code}=${n}`)
    .join(" ");
  const parts = [
    `[sim] t=${Math.round(elapsedSec)}s`,
    `connected ${now.connected}/${now.devices}`,
    `sent ${rate.toFixed(1)}/s`,
    `accepted ${now.accepted}`,
    `rejected ${rejected || "0"}`,
    `duplicates sent ${now.duplicatesSent} acked ${now.duplicateAcks}`,
    `syncs ${now.syncs} (${now.syncRequests} requested)`,
    `timeouts ${now.timeouts}`,
  ];
  if (now.ota.started > 0) parts.push(`ota ${now.ota.started} started ${now.ota.completed} ok ${now.ota.failed} failed`);
  if (now.connectErrors > 0) parts.push(`connect errors ${now.connectErrors} (${now.lastError ?? "?"})`);
  return parts.join(" | ");
}
