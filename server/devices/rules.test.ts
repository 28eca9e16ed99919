import { describe, expect, it } from "vitest";
import { parseManifest, splitCsv, MAX_MANIFEST_ROWS } from "./rules.ts";

const HEADER = "id,type,hardwareVersion,region,firmwareVersion,tags";

describe("splitCsv", () => {
  it("keeps quoted commas, doubled quotes and quoted newlines, with the record's first line number", () => {
    const records = splitCsv(`a,"b,c","say ""hi"""\r\nd,"two\nlines",e\n\nf,g,h`);
    expect(records).toEqual([
      { line: 1, fields: ["a", "b,c", 'say "hi"'] },
      { line: 2, fields: ["d", "two\nlines", "e"] },
      { line: 5, fields: ["f", "g", "h"] },
    ]);
  });
});

describe("parseManifest", () => {
  it("accepts good rows with tags split by ';' and skips the header", () => {
    const { rows, errors } = parseManifest(`${HEADER}\ndev-1,gw,rev-a,eu-west,4.1.5,pilot;indoor\ndev-2,gw,rev-b,us-east,4.1.4,\n`);
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { line: 2, id: "dev-1", type: "gw", hardwareVersion: "rev-a", region: "eu-west", firmwareVersion: "4.1.5", tags: ["pilot", "indoor"] },
      { line: 3, id: "dev-2", type: "gw", hardwareVersion: "rev-b", region: "us-east", firmwareVersion: "4.1.4", tags: [] },
    ]);
  });

  it("works without a header and with a BOM on the header", () => {
    expect(parseManifest("dev-1,gw,a,eu,1.0.0,").rows).toHaveLength(1);
    expect(parseManifest(`\uFEFF${HEADER}\ndev-1,gw,a,eu,1.0.0,`).rows).toHaveLength(1);
  });

  it("reports each bad row by line with a specific reason and keeps the good ones", () => {
    const csv = [
      HEADER,
      "ok-1,gw,a,eu,1.0.0,",
      "bad id!,gw,a,eu,1.0.0,",
      "ok-2,gw,a,eu,not-a-version,",
      "ok-3,gw,a,eu,1.0.0",
      "ok-4,,a,eu,1.0.0,",
      "ok-5,gw,a,eu,1.0.0,good;bad tag",
      "ok-1,gw,a,eu,1.0.1,",
      "ok-6,gw,a,eu,2.0.0-rc.1+build.5,",
    ].join("\n");
    const { rows, errors } = parseManifest(csv);
    expect(rows.map((r) => r.id)).toEqual(["ok-1", "ok-6"]);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(errors[0]!.reason).toMatch(/id "bad id!"/);
    expect(errors[1]!.reason).toMatch(/not a semantic version/);
    expect(errors[2]!.reason).toMatch(/expected 6 columns .* found 5/);
    expect(errors[3]!.reason).toMatch(/type "" is empty/);
    expect(errors[4]!.reason).toMatch(/tag "bad tag"/);
    expect(errors[5]!.reason).toMatch(/already appears on line 2/);
  });

  it("rejects ids longer than 64 characters and deduplicates tags", () => {
    const { rows, errors } = parseManifest(`${"x".repeat(65)},gw,a,eu,1.0.0,\nd,gw,a,eu,1.0.0,a;a;b`);
    expect(errors[0]!.line).toBe(1);
    expect(rows[0]!.tags).toEqual(["a", "b"]);
  });

  it("caps a manifest's size", () => {
    const lines = Array.from({ length: MAX_MANIFEST_ROWS + 2 }, (_, i) => `d${i},gw,a,eu,1.0.0,`);
    const { rows, errors } = parseManifest(lines.join("\n"));
    expect(rows).toHaveLength(MAX_MANIFEST_ROWS);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toMatch(/at most/);
  });
});
