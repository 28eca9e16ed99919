// Signed firmware download links (PROTOCOL.md, "Firmware download"): an HMAC
// over firmware id, device id and expiry, valid for an hour. A tampered or
// expired link is refused.
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
