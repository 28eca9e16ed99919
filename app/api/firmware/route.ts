// Firmware upload: multipart/form-data, because images are binary and large.
// Fields: file, version, deviceType, compatibleHardware (repeated or
// comma-separated), minVersion, releaseNotes, signature (base64 or a file).
import { getCurrentUser } from "@/server/auth/session.ts";
import { can } from "@/server/auth/permissions.ts";
import { config } from "@/server/config.ts";
import { AppError } from "@/server/errors.ts";
import { uploadFirmware } from "@/server/firmware/mutations.ts";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const STATUS: Record<AppError["code"], number> = {
  INVALID: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  TOO_MANY_REQUESTS: 429,
};

// Room for the form's other fields and multipart boundaries beside the image.
const FORM_OVERHEAD_BYTES = 1024 * 1024;

function invalid(error: string, fieldErrors: Record<string, string[]> = {}) {
  return Response.json({ error, fieldErrors }, { status: 400 });
}

function text(form: FormData, name: string): string | undefined {
  const value = form.get(name);
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

export async function POST(request: Request) {
  const user = await getCurrentUser();
  if (!user) return Response.json({ error: "Sign in to continue." }, { status: 401 });
  if (!can(user.role, "firmware:upload")) {
    return Response.json({ error: `Your role (${user.role}) may not do this: it needs "firmware:upload".` }, { status: 403 });
  }
  // The session cookie is SameSite=Lax already; a browser's own word that the form came from another site settles it.
  if (request.headers.get("sec-fetch-site") === "cross-site") {
    return Response.json({ error: "Uploads must come from Fleetwave itself." }, { status: 403 });
  }

  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > config.firmwareMaxMb * 1024 * 1024 + FORM_OVERHEAD_BYTES) {
    return invalid("The firmware was not uploaded: check the highlighted fields.", { file: [`The file is larger than ${config.firmwareMaxMb} MB.`] });
  }
  if (!request.headers.get("content-type")?.toLowerCase().startsWith("multipart/form-data")) {
    return invalid("Send the upload as multipart/form-data.");
  }
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return invalid("The upload could not be read as multipart/form-data.");
  }

  const file = form.get("file");
  if (!(file instanceof File)) return invalid("The firmware was not uploaded: check the highlighted fields.", { file: ["Choose a firmware image."] });
  const signature = form.get("signature");
  const compatibleHardware = form
    .getAll("compatibleHardware")
    .flatMap((v) => (typeof v === "string" ? v.split(",") : []))
    .map((v) => v.trim())
    .filter((v) => v !== "");

  try {
    const firmware = await uploadFirmware(
      {
        bytes: new Uint8Array(await file.arrayBuffer()),
        fileName: file.name,
        version: text(form, "version") ?? "",
        deviceType: text(form, "deviceType") ?? "",
        compatibleHardware,
        minVersion: text(form, "minVersion"),
        releaseNotes: typeof form.get("releaseNotes") === "string" ? (form.get("releaseNotes") as string) : "",
        signature: signature instanceof File ? new Uint8Array(await signature.arrayBuffer()) : typeof signature === "string" ? signature.trim() : undefined,
      },
      { type: "user", id: user.id, label: user.email },
    );
    return Response.json(firmware, { status: 201 });
  } catch (err) {
    if (err instanceof AppError) return Response.json({ error: err.message, fieldErrors: err.fieldErrors ?? {} }, { status: STATUS[err.code] });
    console.error("[firmware] upload failed:", err);
    return Response.json({ error: "Something went wrong on the server. Try again; if it persists, check the server log." }, { status: 500 });
  }
}
