// Serving a signed download link (PROTOCOL.md, "Firmware download"): no
// session, the link is the credential. Tampered, malformed or expired links
// answer 403; the body is the image whose SHA-256 is the ETag.
import { config } from "@/server/config.ts";
import { findFirmware } from "./data.ts";
import { attachmentDisposition, verifyDownload } from "./rules.ts";
import { firmwareStore, type FirmwareStore } from "./store.ts";

const REFUSED = {
  malformed: "This download link is incomplete.",
  bad_signature: "This download link is not valid.",
  expired: "This download link has expired.",
} as const;

function plain(status: number, body: string) {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" } });
}

export async function firmwareDownloadResponse(
  firmwareId: string,
  params: URLSearchParams,
  nowSec: number,
  store: FirmwareStore = firmwareStore(),
): Promise<Response> {
  const check = verifyDownload(config.firmwareLinkSecret, firmwareId, params, nowSec);
  if (!check.ok) return plain(403, REFUSED[check.reason]);

  const firmware = await findFirmware(firmwareId);
  if (!firmware) return plain(404, "No such firmware.");

  let body: ReadableStream<Uint8Array>;
  try {
    body = await store.open(firmware.sha256);
  } catch (err) {
    console.error(`[firmware] image ${firmware.sha256} of firmware ${firmware.id} cannot be read:`, err);
    return plain(500, "The firmware image is not available right now.");
  }
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(firmware.size),
      "Content-Disposition": attachmentDisposition(firmware.fileName),
      ETag: `"${firmware.sha256}"`,
      "Cache-Control": "private, no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
