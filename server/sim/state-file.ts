// The simulated devices' flash: seq, last known version and reported state
// per device in one JSON file, so seq keeps increasing across simulator
// restarts (PROTOCOL.md: "kept across reboots").
import { mkdir, rename, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { DeviceMemory } from "./device.ts";
import { isFirmwareStatus, isPower, obj } from "./messages.ts";

type StateFile = { clean: boolean; savedAt: string; devices: Record<string, DeviceMemory> };

/**
 * After an unclean stop (kill -9) the file can be up to one save interval
 * behind the seqs actually sent. Jumping ahead is harmless: the first message
 * after a restart is a sync/request, which moves the platform's window to it.
 */
export const UNCLEAN_SEQ_MARGIN = 1000;

function readMemory(value: unknown): DeviceMemory | null {
  const m = obj(value);
  if (!m) return null;
  const { seq, version, firmware, status, power } = m;
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(version) || typeof firmware !== "string") return null;
  if (!isFirmwareStatus(status) || !isPower(power)) return null;
  return { seq: seq as number, version: version as number, firmware, status, power };
}

/** The saved devices; empty when the file does not exist. Throws on a file that is not ours. */
export function loadState(file: string): Map<string, DeviceMemory> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw err;
  }
  const parsed = obj(JSON.parse(text));
  const devices = obj(parsed?.devices);
  if (!parsed || !devices) throw new Error(`${file} is not a simulator state file`);
  const margin = parsed.clean === true ? 0 : UNCLEAN_SEQ_MARGIN;
  const out = new Map<string, DeviceMemory>();
  for (const [id, value] of Object.entries(devices)) {
    const memory = readMemory(value);
    if (memory) out.set(id, { ...memory, seq: memory.seq + (memory.seq > 0 ? margin : 0) });
  }
  return out;
}

/**
 * Writes atomically (temp file, rename). Devices of earlier runs that this
 * run does not simulate are kept, so a smaller run does not forget them.
 */
export async function saveState(file: string, devices: Iterable<{ id: string; memory: DeviceMemory }>, clean: boolean, previous: Map<string, DeviceMemory>): Promise<void> {
  const all: Record<string, DeviceMemory> = Object.fromEntries(previous);
  for (const d of devices) all[d.id] = d.memory;
  const body: StateFile = { clean, savedAt: new Date().toISOString(), devices: all };
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(body));
  await rename(tmp, file);
}
