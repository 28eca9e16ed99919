import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "fleetwave-pg-"));
const dataDir = path.join(root, "data");
const modulePath = fileURLToPath(new URL("./embedded-postgres.ts", import.meta.url));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}
const portOf = (url: string) => Number(new URL(url).port);
const pidFile = () => path.join(dataDir, "postgres", "postmaster.pid");

describe("embedded PostgreSQL", { timeout: 120_000 }, () => {
  it("initialises a cluster with the fleetwave database, reachable over TCP", async () => {
    const signalHandlers = process.listenerCount("SIGTERM");
    const db = await startEmbeddedPostgres({ dataDir });
    try {
      expect(db.url).toMatch(/^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/fleetwave$/);
      expect(portOf(db.url)).not.toBe(5432);
      const [row] = await query<{ db: string; enc: string }>(db.url, "SELECT current_database() AS db, pg_client_encoding() AS enc");
      expect(row).toEqual({ db: "fleetwave", enc: "UTF8" });
      await query(db.url, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('survives restarts')");
      // embedded-postgres' own SIGTERM handler (stop and exit at once) is removed
      expect(process.listenerCount("SIGTERM")).toBe(signalHandlers);
      // the password is not the library's default and is kept away from other users
      expect(new URL(db.url).password).not.toBe("password");
      expect(fs.statSync(path.join(dataDir, "postgres.json")).mode & 0o077).toBe(0);
      await expect(query(db.url.replace(/:[^:@]+@/, ":wrong@"), "SELECT 1")).rejects.toThrow(/password/);
    } finally {
      await db.stop();
    }
    expect(fs.existsSync(pidFile())).toBe(false);
  });

  it("keeps data and the port across a restart, despite a stale postmaster.pid", async () => {
    const { port } = JSON.parse(fs.readFileSync(path.join(dataDir, "postgres.json"), "utf8")) as { port: number };
    // What a killed server leaves behind: its pid file, naming a process that is gone.
    fs.writeFileSync(pidFile(), `2147483\n${path.join(dataDir, "postgres")}\n0\n${port}\n\n127.0.0.1\n0 0\nready\n`);
    const db = await startEmbeddedPostgres({ dataDir });
    try {
      expect(portOf(db.url)).toBe(port);
      expect(await query(db.url, "SELECT note FROM kept")).toEqual([{ note: "survives restarts" }]);
    } finally {
      await db.stop();
    }
  });

  it("adopts the server of a process that was killed with SIGKILL", async () => {
    const script = `const { startEmbeddedPostgres } = await import(${JSON.stringify(modulePath)});
      const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
      console.log("URL " + db.url);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^URL (\S+)$/m.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once("exit", (code) => reject(new Error(`child exited (${code}) before starting: ${out}`)));
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const orphan = Number(fs.readFileSync(pidFile(), "utf8").split("\n")[0]);
    expect(() => process.kill(orphan, 0)).not.toThrow(); // the server outlived its owner

    const db = await startEmbeddedPostgres({ dataDir });
    expect(db.url).toBe(url);
    expect(await query(db.url, "SELECT note FROM kept")).toEqual([{ note: "survives restarts" }]);
    await db.stop();
    expect(() => process.kill(orphan, 0)).toThrow();
  });
});
