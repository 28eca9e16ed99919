// A private Mosquitto for the benchmark, started from the shipped config
// (server/mqtt/mosquitto/) as the tests do (testMosquittoConfig):
// its own temp dir, password file and free ports. Never the machine's broker
// at 1883, whose default queue limit drops messages.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, listening } from "@/server/ports.ts";
import { replaceLine, testMosquittoConfig } from "@/server/mqtt/test-broker.ts";
import { onCleanup, sleep } from "./proc.ts";

const MOSQUITTO = "/usr/sbin/mosquitto";
const SHIPPED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../server/mqtt/mosquitto");

export type Broker = {
  pid: number;
  /** The platform listener (gateway-style load, the worker, the collector). */
  platformUrl: string;
  /** The device listener (client id = username = device id); unused by the load, which goes through the platform listener. */
  deviceUrl: string;
  username: string;
  password: string;
  version: string;
  /** Wall-clock times at which Mosquitto rewrote its persistence file (autosave_interval). */
  autosaves: number[];
  stop(): Promise<void>;
};

export function mosquittoVersion(): string {
  try {
    execFileSync(MOSQUITTO, ["-h"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    // `mosquitto -h` prints its usage and exits 3.
    const out = String((err as { stdout?: string }).stdout ?? "");
    const m = /mosquitto version (\S+)/.exec(out);
    if (m) return m[1]!;
  }
  return "unknown";
}

export async function startMosquitto(): Promise<Broker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-bench-mosquitto-"));
  onCleanup("mosquitto temp dir", () => fs.rmSync(dir, { recursive: true, force: true }));
  const [devicePort, platformPort] = [await freePort(), await freePort()];
  const username = "fleetwave-platform";
  const password = randomBytes(12).toString("hex");
  const passwd = path.join(dir, "passwd");
  execFileSync("mosquitto_passwd", ["-c", "-b", passwd, username, password]);
  fs.copyFileSync(path.join(SHIPPED, "acl"), path.join(dir, "acl"));
  fs.mkdirSync(path.join(dir, "data"));
  // Each of the bench's connections would otherwise log a line; nothing else changes.
  const config = replaceLine(testMosquittoConfig(dir, devicePort, platformPort), /^connection_messages true$/m, "connection_messages false");
  fs.writeFileSync(path.join(dir, "mosquitto.conf"), config);
  // As root, Mosquitto drops to its own user before it reads these files.
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", "mosquitto:", dir]);

  const child: ChildProcess = spawn(MOSQUITTO, ["-c", path.join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(forced);
    }
  };
  onCleanup("mosquitto", stop);
  for (const deadline = Date.now() + 10_000; !(await listening(devicePort)) || !(await listening(platformPort)); await sleep(50)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start (${child.exitCode}):\n${output}`);
  }
  // Mosquitto snapshots its state to disk every autosave_interval: note when, to line up stalls with it.
  const autosaves: number[] = [];
  const dbFile = path.join(dir, "data", "mosquitto.db");
  let lastMtime = 0;
  const watcher = setInterval(() => {
    try {
      const m = fs.statSync(dbFile).mtimeMs;
      if (m !== lastMtime) {
        if (lastMtime !== 0) autosaves.push(Math.round(m));
        lastMtime = m;
      }
    } catch {
      // not written yet
    }
  }, 100);
  watcher.unref();
  onCleanup("mosquitto autosave watcher", () => clearInterval(watcher));
  return {
    pid: child.pid!,
    autosaves,
    platformUrl: `mqtt://127.0.0.1:${platformPort}`,
    deviceUrl: `mqtt://127.0.0.1:${devicePort}`,
    username,
    password,
    version: mosquittoVersion(),
    stop,
  };
}
