import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeSignature, parseSigningKeys, signingKeysOrThrow, verifyImageSignature } from "./signature.ts";

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ format: "der", type: "spki" });
  // The raw key is the last 32 bytes of its SPKI encoding.
  const raw = spki.subarray(spki.length - 32);
  return { privateKey, spki: spki.toString("base64"), raw: raw.toString("base64") };
}

const image = Buffer.from("firmware image bytes \u0000\u0001\u0002");
const release = keyPair();
const other = keyPair();

describe("parseSigningKeys", () => {
  it("reads raw and SPKI keys, ignoring blanks and spaces", () => {
    const { keys, errors } = parseSigningKeys(` release=${release.raw} , ,backup=${other.spki}`);
    expect(errors).toEqual([]);
    expect(keys.map((k) => k.id)).toEqual(["release", "backup"]);
    expect(keys.every((k) => k.key.asymmetricKeyType === "ed25519")).toBe(true);
  });

  it("is empty when unset", () => {
    expect(parseSigningKeys(undefined)).toEqual({ keys: [], errors: [] });
    expect(parseSigningKeys("")).toEqual({ keys: [], errors: [] });
  });

  it("names every bad entry with its reason and keeps the good ones", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "der", type: "spki" }).toString("base64");
    const { keys, errors } = parseSigningKeys(
      [`good=${release.raw}`, "no-equals-sign", `bad id=${release.raw}`, "short=AAAA", "text=not*base64!", `good=${other.raw}`, `rsa=${rsa}`].join(","),
    );
    expect(keys.map((k) => k.id)).toEqual(["good"]);
    expect(errors).toHaveLength(6);
    expect(errors[0]).toMatch(/^entry 2: expected keyId=BASE64/);
    expect(errors[1]).toMatch(/^entry 3: key id "bad id"/);
    expect(errors[2]).toMatch(/^entry 4 \("short"\): 3 bytes is neither a raw 32-byte key nor an SPKI DER key/);
    expect(errors[3]).toMatch(/^entry 5 \("text"\): the key is not base64/);
    expect(errors[4]).toMatch(/^entry 6 \("good"\): the key id is used twice/);
    expect(errors[5]).toMatch(/^entry 7 \("rsa"\): .*rsa key, not Ed25519/);
  });

  it("refuses a configuration with any bad entry, naming the variable", () => {
    expect(() => signingKeysOrThrow(`a=${release.raw},b=AAAA`)).toThrow(/FIRMWARE_SIGNING_KEYS is invalid: entry 2 \("b"\)/);
    expect(signingKeysOrThrow(`a=${release.raw}`)).toHaveLength(1);
  });
});

describe("verifyImageSignature", () => {
  const keys = signingKeysOrThrow(`release=${release.raw},backup=${other.spki}`);
  const signature = sign(null, image, release.privateKey);

  it("answers the key that verified a good signature, raw or base64", () => {
    expect(verifyImageSignature(image, signature, keys)).toEqual({ ok: true, keyId: "release" });
    expect(verifyImageSignature(image, signature.toString("base64"), keys)).toEqual({ ok: true, keyId: "release" });
    expect(verifyImageSignature(image, signature.toString("base64url"), keys)).toEqual({ ok: true, keyId: "release" });
    expect(verifyImageSignature(image, sign(null, image, other.privateKey), keys)).toEqual({ ok: true, keyId: "backup" });
  });

  it("refuses a signature over other bytes, or by an unknown key", () => {
    const changed = Buffer.from(image);
    changed[0] = changed[0]! ^ 1;
    expect(verifyImageSignature(changed, signature, keys)).toMatchObject({ ok: false, reason: "no_match" });
    expect(verifyImageSignature(image, sign(null, image, keyPair().privateKey), keys)).toMatchObject({
      ok: false,
      reason: "no_match",
      message: expect.stringContaining("release, backup"),
    });
  });

  it("refuses what is not a 64-byte signature", () => {
    expect(verifyImageSignature(image, "not a signature", keys)).toMatchObject({ ok: false, reason: "malformed" });
    expect(verifyImageSignature(image, signature.subarray(0, 63).toString("base64"), keys)).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("cannot verify without configured keys", () => {
    expect(verifyImageSignature(image, signature, [])).toMatchObject({ ok: false, reason: "no_keys" });
  });
});

describe("decodeSignature", () => {
  it("takes 64 raw bytes, or base64 text with a trailing newline (a .sig.b64 file)", () => {
    const raw = Buffer.alloc(64, 7);
    expect(decodeSignature(raw)).toEqual(raw);
    expect(decodeSignature(Buffer.from(`${raw.toString("base64")}\n`))).toEqual(raw);
    expect(decodeSignature(raw.toString("base64"))).toEqual(raw);
    expect(decodeSignature(Buffer.alloc(65))).toBeNull();
    expect(decodeSignature("")).toBeNull();
  });
});
