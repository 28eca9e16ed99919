// "Potentially offline" (PROTOCOL.md, status): a device that says it is online
// but has sent nothing for 10 minutes. Rollout gates leave such devices out of
// their denominators; the fleet and device pages flag them.
export const SILENCE_MS = 10 * 60 * 1000;

export function isPotentiallyOffline(online: boolean, lastSeenAt: Date | null, now = Date.now()): boolean {
  return online && lastSeenAt !== null && now - lastSeenAt.getTime() > SILENCE_MS;
}
