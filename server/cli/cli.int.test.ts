// The release-pipeline CLI as a pipeline runs it: `npm run fleet -- …` is
// `node --import tsx server/cli/fleet.ts …`, against a real database, acting
// as a named user whose role is checked and whose name goes into the audit.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-database.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-cli-"));
let db: TestDatabase;
let pool: pg.Pool;

type Run = { code: number; stdout: string; stderr: string };
function fleet(args: string[], actor?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "server/cli/fleet.ts", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: db.url, FIRMWARE_DIR: path.join(dir, "fw"), FLEETWAVE_ACTOR: actor ?? "", AUTH_SECRET: "cli-test" },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool(2);
  for (const [email, role] of [["eng@example.test", "engineer"], ["ops@example.test", "operator"], ["boss@example.test", "manager"]]) {
    await pool.query(`INSERT INTO users (id, email, name, role, updated_at) VALUES (gen_random_uuid(), $1, $1, $2::"Role", now())`, [email, role]);
  }
  const manifest = ["id,type,hardwareVersion,region,firmwareVersion,tags", ...Array.from({ length: 30 }, (_, i) => `cli-${i},cli-cam,h1,${i % 2 ? "eu" : "us"},1.0.0,`)].join("\n");
  fs.writeFileSync(path.join(dir, "devices.csv"), manifest);
  fs.writeFileSync(path.join(dir, "image.bin"), Buffer.alloc(4096, 7));
  const imported = await fleet(["devices", "import", path.join(dir, "devices.csv")]);
  expect(imported.stdout).toContain("30 created");
}, 120_000);

afterAll(async () => {
  await db?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fleet CLI: firmware and rollouts", () => {
  let rolloutId = "";

  it("refuses to act without a named user, and for a role that may not", async () => {
    const anonymous = await fleet(["firmware", "upload", path.join(dir, "image.bin"), "--version", "2.0.0", "--type", "cli-cam"]);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toContain("FLEETWAVE_ACTOR");
    const operator = await fleet(["firmware", "upload", path.join(dir, "image.bin"), "--version", "2.0.0", "--type", "cli-cam"], "ops@example.test");
    expect(operator.code).toBe(2);
    expect(operator.stderr).toContain('needs "firmware:upload"');
  });

  it("uploads firmware as the engineer, with its SHA-256, and refuses a duplicate with the reason", async () => {
    const up = await fleet(["firmware", "upload", path.join(dir, "image.bin"), "--version", "2.0.0", "--type", "cli-cam", "--hardware", "h1"], "eng@example.test");
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/sha256\s+[0-9a-f]{64}/);
    const again = await fleet(["firmware", "upload", path.join(dir, "image.bin"), "--version", "2.0.0", "--type", "cli-cam"], "eng@example.test");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused: .*already/i);
  });

  it("launches a rollout with thresholds and prints its status as JSON", async () => {
    const launched = await fleet(
      ["rollout", "launch", "--firmware", "2.0.0", "--type", "cli-cam", "--region", "eu", "--waves", "3", "--success-gate", "95", "--max-failure", "2", "--timeout", "20", "--json"],
      "eng@example.test",
    );
    expect(launched.code, launched.stderr).toBe(0);
    const status = JSON.parse(launched.stdout);
    rolloutId = status.id;
    expect(status).toMatchObject({ state: "running", pausedReason: null, firmware: { version: "2.0.0", deviceType: "cli-cam" } });
    expect(status.waves).toHaveLength(3);
    expect(status.waves.reduce((n: number, w: { size: number }) => n + w.size, 0)).toBe(15);
    for (const w of status.waves) expect(Object.keys(w).sort()).toEqual(["failed", "inProgress", "index", "offline", "pending", "size", "state", "succeeded", "timedOut"]);
    const { rows } = await pool.query(`SELECT settings, created_by_label FROM rollouts WHERE id = $1`, [rolloutId]);
    expect(rows[0].settings).toMatchObject({ successGate: 0.95, maxFailureRate: 0.02, timeoutMin: 20 });
    expect(rows[0].created_by_label).toBe("eng@example.test (cli)");
  });

  it("pauses and resumes as an operator; a manager may not; each action is audited under the person", async () => {
    const boss = await fleet(["rollout", "pause", rolloutId], "boss@example.test");
    expect(boss.code).toBe(2);
    expect(boss.stderr).toContain('needs "rollout:pause"');
    const paused = await fleet(["rollout", "pause", rolloutId, "--reason", "change freeze", "--json"], "ops@example.test");
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ state: "paused", pausedReason: "Paused by ops@example.test (cli): change freeze" });
    const twice = await fleet(["rollout", "pause", rolloutId], "ops@example.test");
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("Cannot pause a rollout that is paused");
    expect((await fleet(["rollout", "resume", rolloutId], "ops@example.test")).code).toBe(0);
    const { rows } = await pool.query(`SELECT action, actor_label FROM audit_events WHERE target_id = $1 ORDER BY id`, [rolloutId]);
    expect(rows).toEqual([
      { action: "rollout.launch", actor_label: "eng@example.test (cli)" },
      { action: "rollout.pause", actor_label: "ops@example.test (cli)" },
      { action: "rollout.resume", actor_label: "ops@example.test (cli)" },
    ]);
  });

  it("aborts, and status shows it", async () => {
    expect((await fleet(["rollout", "abort", rolloutId, "--reason", "superseded"], "eng@example.test")).code).toBe(0);
    const status = await fleet(["rollout", "status", rolloutId, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: rolloutId, state: "aborted" });
  });
});
