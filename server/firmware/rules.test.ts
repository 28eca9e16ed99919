import { describe, expect, it } from "vitest";
import { attachmentDisposition, downloadPath, firmwareFileName, signDownload, verifyDownload } from "./rules.ts";

const secret = "s3cret";
const now = 1_800_000_000;

function params(path: string) {
  return new URL(path, "http://x").searchParams;
}

describe("signed firmware links", () => {
  it("verifies a fresh link for the firmware and device it was made for", () => {
    const link = signDownload(secret, "fw-1", "dev-1", now);
    expect(verifyDownload(secret, "fw-1", params(downloadPath(link)), now + 10)).toEqual({ ok: true, claim: { firmwareId: "fw-1", deviceId: "dev-1", expires: now + 3600 } });
  });

  it("refuses a link past its hour", () => {
    const link = signDownload(secret, "fw-1", "dev-1", now);
    expect(verifyDownload(secret, "fw-1", params(downloadPath(link)), now + 3601)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses tampering with the device, the expiry, the firmware or the signature", () => {
    const p = params(downloadPath(signDownload(secret, "fw-1", "dev-1", now)));
    const tampered = (k: string, v: string) => {
      const q = new URLSearchParams(p);
      q.set(k, v);
      return q;
    };
    expect(verifyDownload(secret, "fw-1", tampered("device", "dev-2"), now).ok).toBe(false);
    expect(verifyDownload(secret, "fw-1", tampered("expires", String(now + 99999)), now).ok).toBe(false);
    expect(verifyDownload(secret, "fw-2", p, now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyDownload(secret, "fw-1", tampered("sig", "AAAA"), now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyDownload("other", "fw-1", p, now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyDownload(secret, "fw-1", new URLSearchParams("device=d"), now)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("firmware file names", () => {
  it("keeps only the last path segment, without control characters", () => {
    expect(firmwareFileName("/builds/out/gw-4.2.0.bin")).toBe("gw-4.2.0.bin");
    expect(firmwareFileName("C:\\builds\\gw.bin")).toBe("gw.bin");
    expect(firmwareFileName("gw\r\n.bin")).toBe("gw.bin");
    expect(firmwareFileName("..")).toBe("firmware.bin");
    expect(firmwareFileName("")).toBe("firmware.bin");
    expect(firmwareFileName("x".repeat(300))).toHaveLength(255);
  });

  it("serves a name safely in Content-Disposition, exact in the UTF-8 form", () => {
    expect(attachmentDisposition("gw-4.2.0.bin")).toBe(`attachment; filename="gw-4.2.0.bin"; filename*=UTF-8''gw-4.2.0.bin`);
    expect(attachmentDisposition('fïrm "v2".bin')).toBe(`attachment; filename="f_rm _v2_.bin"; filename*=UTF-8''f%C3%AFrm%20%22v2%22.bin`);
  });
});
