// Maintenance windows: a 5-field cron expression (minute hour day-of-month
// month day-of-week) opens a window of `durationMin` in a time zone; outside
// it no new device starts. Pure: the caller passes the time.

type Field = { min: number; max: number };
const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 7 },
];

export type Cron = { sets: Array<Set<number>>; domAny: boolean; dowAny: boolean };

export class CronError extends Error {}

function parseField(text: string, { min, max }: Field): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronError(`"${part}" is not a cron field`);
    const step = m[2] ? Number(m[2]) : 1;
    let [from, to] = m[1] === "*" ? [min, max] : (m[1]!.split("-").map(Number) as [number, number?]);
    to ??= m[2] ? max : from;
    if (from < min || to > max || from > to || step < 1) throw new CronError(`"${part}" is out of range ${min}–${max}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError("a cron expression has 5 fields: minute hour day-of-month month day-of-week");
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!));
  if (sets[4]!.has(7)) sets[4]!.add(0); // Sunday is 0 and 7
  return { sets, domAny: parts[2] === "*", dowAny: parts[4] === "*" };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in `timeZone` at `at`, as ms since the epoch of that wall-clock reading taken as UTC. */
function wallClock(at: Date, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
}

function wallMatches(cron: Cron, wall: number): boolean {
  const t = new Date(wall);
  const [mi, h, dom, mo, dow] = cron.sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (!mi.has(t.getUTCMinutes()) || !h.has(t.getUTCHours()) || !mo.has(t.getUTCMonth() + 1)) return false;
  // Standard cron: when both day fields are restricted, either may match.
  if (cron.domAny || cron.dowAny) return dom.has(t.getUTCDate()) && dow.has(t.getUTCDay());
  return dom.has(t.getUTCDate()) || dow.has(t.getUTCDay());
}

export function cronMatches(cron: Cron, at: Date, timeZone: string): boolean {
  return wallMatches(cron, wallClock(at, timeZone));
}

export type MaintenanceWindow = { cron: string; durationMin: number; timeZone: string };

/** Whether `at` lies in a window that opened at a cron time within the last `durationMin` minutes. */
export function isWithinWindow(window: MaintenanceWindow | null, at: Date): boolean {
  if (!window) return true;
  const cron = parseCron(window.cron);
  const start = Math.floor(at.getTime() / 60_000) * 60_000;
  for (let back = 0; back < Math.min(window.durationMin, 7 * 24 * 60); back++) {
    const minute = start - back * 60_000;
    const wall = wallClock(new Date(minute), window.timeZone);
    // When the clocks jump forward (DST), the skipped wall-clock minutes open
    // their windows at the jump, as cron runs jobs of a skipped hour; otherwise
    // a nightly "0 2 * * *" window would vanish on that night.
    const skippedFrom = Math.min(wallClock(new Date(minute - 60_000), window.timeZone) + 60_000, wall);
    for (let w = skippedFrom; w <= wall; w += 60_000) if (wallMatches(cron, w)) return true;
  }
  return false;
}
