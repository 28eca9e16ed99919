// Signed firmware download links (PROTOCOL.md, "Firmware download"): an HMAC
// over firmware id, device id and expiry, valid for an hour. A tampered or
// expired link is refused. Also the names images are stored and served under.
import { createHmac, timingSafeEqual } from "node:crypto";

export const LINK_TTL_SEC = 3600;

export type DownloadClaim = { firmwareId: string; deviceId: string; expires: number };

function mac(secret: string, c: DownloadClaim): string {
  return createHmac("sha256", secret).update(`fw1\n${c.firmwareId}\n${c.deviceId}\n${c.expires}`).digest("base64url");
}

export function signDownload(secret: string, firmwareId: string, deviceId: string, nowSec: number, ttlSec = LINK_TTL_SEC) {
  const claim = { firmwareId, deviceId, expires: Math.floor(nowSec) + ttlSec };
  return { ...claim, signature: mac(secret, claim) };
}

export function downloadPath(s: ReturnType<typeof signDownload>): string {
  const qs = new URLSearchParams({ device: s.deviceId, expires: String(s.expires), sig: s.signature });
  return `/api/firmware/${encodeURIComponent(s.firmwareId)}/download?${qs}`;
}

export type LinkCheck = { ok: true; claim: DownloadClaim } | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

export function verifyDownload(secret: string, firmwareId: string, params: URLSearchParams, nowSec: number): LinkCheck {
  const deviceId = params.get("device");
  const expires = Number(params.get("expires"));
  const signature = params.get("sig");
  if (!deviceId || !signature || !Number.isInteger(expires)) return { ok: false, reason: "malformed" };
  const claim = { firmwareId, deviceId, expires };
  const expected = Buffer.from(mac(secret, claim));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "bad_signature" };
  if (nowSec > expires) return { ok: false, reason: "expired" };
  return { ok: true, claim };
}

/** The name an upload is stored and served under: its last path segment, without control characters, at most 255 characters. */
export function firmwareFileName(given: string): string {
  const base = given.split(/[\\/]/).pop() ?? "";
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return clean === "" || clean === "." || clean === ".." ? "firmware.bin" : clean;
}

/** Content-Disposition for a download: an ASCII fallback name plus the exact name in RFC 5987 form. */
export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
