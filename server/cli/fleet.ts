// `npm run fleet -- <command>`: the operations CLI for release pipelines and
// admins. It acts as a named actor and is audited like the UI.
//   devices import FILE.csv        register devices from a factory manifest
//   seed [--devices N]             demo users (one per role) and a demo fleet
//   users create EMAIL --role R [--name N] [--password P]
//   users reset-password EMAIL     prints a new generated password
//   firmware upload FILE --version V --type T [--hardware H …] [--min-version M] [--notes TEXT] [--signature FILE]
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { disconnectDb, prisma } from "@/server/db/client.ts";
import { parseManifest } from "@/server/devices/rules.ts";
import { importDevices } from "@/server/devices/mutations.ts";
import { generatePassword, hashPassword } from "@/server/auth/password.ts";
import { isRole } from "@/server/auth/permissions.ts";
import { recordAuditNow, type Actor } from "@/server/audit/mutations.ts";
import { createUser } from "@/server/users/mutations.ts";
import { uploadFirmware } from "@/server/firmware/mutations.ts";
import { AppError } from "@/server/errors.ts";

import { actingUser, CliUsageError as UsageError } from "./actor.ts";
import { rolloutCommand, ROLLOUT_USAGE } from "./rollout-commands.ts";

function cliActor(): Actor {
  const who = process.env.FLEETWAVE_ACTOR ?? process.env.USER ?? "cli";
  return { type: "cli", id: who, label: `cli:${who}` };
}

async function devicesImport(file: string | undefined) {
  if (!file) throw new UsageError("usage: fleet devices import FILE.csv");
  const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  });
  const { rows, errors } = parseManifest(text);
  for (const e of errors) console.error(`line ${e.line}: ${e.reason}`);
  const result = rows.length > 0 ? await importDevices(rows, errors, cliActor(), { fileName: file }) : { created: 0, updated: 0, unchanged: 0, errors };
  console.log(`${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged, ${errors.length} rejected`);
  return errors.length > 0 && rows.length === 0 ? 1 : 0;
}

async function seed(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { devices: { type: "string" } } });
  const devices = values.devices ? Number(values.devices) : 1500;
  if (!Number.isInteger(devices) || devices < 0) throw new UsageError("--devices takes a whole number");
  const { seedDemo, printCredentials } = await import("@/prisma/seed.ts");
  const { users, fleet } = await seedDemo({ devices });
  console.log(`demo fleet: ${fleet.created} created, ${fleet.updated} updated, ${fleet.unchanged} unchanged`);
  if (users.length === 0) console.log("demo users already exist (reset a password with: fleet users reset-password EMAIL)");
  printCredentials(users);
  return 0;
}

async function users(sub: string | undefined, argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: "string" }, name: { type: "string" }, password: { type: "string" } },
  });
  const email = positionals[0]?.toLowerCase();
  if (!email) throw new UsageError("usage: fleet users create EMAIL --role ROLE | fleet users reset-password EMAIL");
  if (sub === "create") {
    if (!isRole(values.role)) throw new UsageError("--role must be one of manager, operator, engineer, admin");
    const password = values.password ?? generatePassword();
    await createUser({ email, name: values.name ?? email, role: values.role, password }, cliActor());
    console.log(`created ${email} (${values.role})${values.password ? "" : `, password: ${password}`}`);
    return 0;
  }
  if (sub === "reset-password") {
    const user = await prisma.user.findUnique({ where: { email } });
    if (!user) throw new UsageError(`no user ${email}`);
    const password = generatePassword();
    await prisma.user.update({ where: { id: user.id }, data: { passwordHash: await hashPassword(password), sessionVersion: { increment: 1 } } });
    await recordAuditNow({ actor: cliActor(), action: "user.reset_password", target: { type: "user", id: user.id } });
    console.log(`new password for ${email}: ${password}`);
    return 0;
  }
  throw new UsageError(`unknown users command "${sub ?? ""}"`);
}

const FIRMWARE_USAGE =
  "usage: fleet firmware upload FILE --version V --type T [--hardware H …] [--min-version M] [--notes TEXT] [--signature FILE] [--as EMAIL]";
// The upload's field names as the command line spells them, for refusal messages.
const FIRMWARE_FLAGS: Record<string, string> = {
  file: "FILE", version: "--version", deviceType: "--type", compatibleHardware: "--hardware",
  minVersion: "--min-version", releaseNotes: "--notes", signature: "--signature",
};

async function readInput(file: string) {
  return readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  });
}

async function firmwareUpload(argv: string[]) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        version: { type: "string" }, type: { type: "string" }, hardware: { type: "string", multiple: true },
        "min-version": { type: "string" }, notes: { type: "string" }, signature: { type: "string" }, as: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${FIRMWARE_USAGE}`);
  }
  const { values, positionals } = args;
  const [file] = positionals;
  const { version, type } = values;
  if (!file || !version || !type) {
    const missing = [!file && "FILE", !version && "--version", !type && "--type"].filter(Boolean);
    throw new UsageError(`missing ${missing.join(", ")}\n${FIRMWARE_USAGE}`);
  }
  if (positionals.length > 1) throw new UsageError(`one image at a time, got ${positionals.length} files\n${FIRMWARE_USAGE}`);
  const actor = await actingUser(values.as, "firmware:upload");
  const bytes = await readInput(file);
  const signature = values.signature ? await readInput(values.signature) : undefined;
  try {
    const firmware = await uploadFirmware(
      {
        bytes, fileName: path.basename(file), version, deviceType: type,
        compatibleHardware: (values.hardware ?? []).flatMap((h) => h.split(",")).map((h) => h.trim()).filter((h) => h !== ""),
        minVersion: values["min-version"], releaseNotes: values.notes, signature,
      },
      actor,
    );
    console.log(`uploaded ${firmware.deviceType} ${firmware.version}${firmware.signatureKeyId ? ` (signed by ${firmware.signatureKeyId})` : " (unsigned)"}`);
    console.log(`id      ${firmware.id}\nsha256  ${firmware.sha256}\nsize    ${firmware.size} bytes`);
    return 0;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    console.error(`refused: ${err.message}`);
    for (const [field, messages] of Object.entries(err.fieldErrors ?? {})) {
      for (const message of messages) console.error(`  ${FIRMWARE_FLAGS[field] ?? field}: ${message}`);
    }
    return 1;
  }
}

async function run(argv: string[]): Promise<number> {
  const [group, sub, ...rest] = argv;
  if (group === "devices" && sub === "import") return devicesImport(rest[0]);
  if (group === "seed") return seed([sub, ...rest].filter((a): a is string => a !== undefined));
  if (group === "users") return users(sub, rest);
  if (group === "firmware") {
    if (sub === "upload") return firmwareUpload(rest);
    throw new UsageError(FIRMWARE_USAGE);
  }
  if (group === "rollout") return rolloutCommand(sub, rest);
  throw new UsageError(
    `usage: fleet devices import FILE.csv | fleet seed [--devices N] | fleet users create|reset-password EMAIL | fleet firmware upload FILE …\n${ROLLOUT_USAGE}`,
  );
}

run(process.argv.slice(2))
  .then(async (code) => {
    await disconnectDb();
    process.exit(code);
  })
  .catch(async (err: Error) => {
    console.error(err instanceof UsageError ? err.message : `error: ${err.message}`);
    await disconnectDb().catch(() => undefined);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
