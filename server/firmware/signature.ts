// Detached Ed25519 signatures over firmware images. The release pipeline signs
// the image bytes with its private key; the platform holds only public keys
// (FIRMWARE_SIGNING_KEYS) and records which one verified an upload.
import { createPublicKey, verify, type KeyObject } from "node:crypto";

export type SigningKey = { id: string; key: KeyObject };

export type SignatureCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: "malformed" | "no_keys" | "no_match"; message: string };

const KEY_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const RAW_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

function decodeBase64(text: string): Buffer | null {
  const compact = text.replace(/\s+/g, "");
  if (compact === "") return null;
  if (BASE64_PATTERN.test(compact)) return Buffer.from(compact, "base64");
  if (BASE64URL_PATTERN.test(compact)) return Buffer.from(compact, "base64url");
  return null;
}

function publicKeyFrom(bytes: Buffer): KeyObject {
  if (bytes.length === RAW_KEY_BYTES) {
    return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: bytes.toString("base64url") }, format: "jwk" });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: bytes, format: "der", type: "spki" });
  } catch {
    throw new Error(`${bytes.length} bytes is neither a raw 32-byte key nor an SPKI DER key`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`it is an ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519`);
  return key;
}

/**
 * Parses `keyId=BASE64,keyId=BASE64`, where BASE64 is a raw 32-byte Ed25519
 * public key or an SPKI DER one. Every bad entry is reported, by position and
 * key id, so a typo in one key does not hide behind another.
 */
export function parseSigningKeys(text: string | undefined): { keys: SigningKey[]; errors: string[] } {
  const keys: SigningKey[] = [];
  const errors: string[] = [];
  const entries = (text ?? "").split(",").map((e) => e.trim());
  for (const [index, entry] of entries.entries()) {
    if (entry === "") continue;
    const where = `entry ${index + 1}`;
    const eq = entry.indexOf("=");
    if (eq <= 0) {
      errors.push(`${where}: expected keyId=BASE64`);
      continue;
    }
    const id = entry.slice(0, eq).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      errors.push(`${where}: key id "${id}" must be 1–64 letters, digits or _.:-`);
      continue;
    }
    if (keys.some((k) => k.id === id)) {
      errors.push(`${where} ("${id}"): the key id is used twice`);
      continue;
    }
    const bytes = decodeBase64(entry.slice(eq + 1));
    if (!bytes) {
      errors.push(`${where} ("${id}"): the key is not base64`);
      continue;
    }
    try {
      keys.push({ id, key: publicKeyFrom(bytes) });
    } catch (err) {
      errors.push(`${where} ("${id}"): ${(err as Error).message}`);
    }
  }
  return { keys, errors };
}

/** Like parseSigningKeys, for configuration: any bad entry is an error naming the variable. */
export function signingKeysOrThrow(text: string | undefined, variable = "FIRMWARE_SIGNING_KEYS"): SigningKey[] {
  const { keys, errors } = parseSigningKeys(text);
  if (errors.length > 0) throw new Error(`${variable} is invalid: ${errors.join("; ")}`);
  return keys;
}

/**
 * A signature as given: 64 raw bytes (a `.sig` file), or base64 text of them
 * (a form field, a `.sig.b64` file). Null when it is neither.
 */
export function decodeSignature(input: string | Uint8Array): Buffer | null {
  if (typeof input !== "string" && input.length === SIGNATURE_BYTES) return Buffer.from(input);
  const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
  const bytes = decodeBase64(text);
  return bytes && bytes.length === SIGNATURE_BYTES ? bytes : null;
}

/** Verifies a detached signature over the image against each configured key; answers the key that verified it. */
export function verifyImageSignature(image: Uint8Array, signature: string | Uint8Array, keys: SigningKey[]): SignatureCheck {
  const sig = decodeSignature(signature);
  if (!sig) return { ok: false, reason: "malformed", message: "The signature must be 64 bytes of Ed25519 signature, raw or base64." };
  if (keys.length === 0) {
    return { ok: false, reason: "no_keys", message: "No signing keys are configured (FIRMWARE_SIGNING_KEYS), so the signature cannot be verified." };
  }
  for (const { id, key } of keys) {
    if (verify(null, image, key, sig)) return { ok: true, keyId: id };
  }
  return { ok: false, reason: "no_match", message: `The signature does not verify against any configured key (${keys.map((k) => k.id).join(", ")}).` };
}
