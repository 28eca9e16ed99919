// Semantic version precedence (semver 2.0, §11): numeric core, a pre-release
// ranks below its release, identifiers compared left to right (numeric
// numerically, numeric below alphanumeric, alphanumeric in ASCII order, more
// identifiers rank higher), build metadata ignored.
import { describe, expect, it } from "vitest";
import { compareVersions, isVersion } from "./version-rules.ts";

const sign = (a: string, b: string) => Math.sign(compareVersions(a, b));

describe("isVersion", () => {
  it.each(["0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0-alpha-a.b-c"])(
    "%s is a version",
    (v) => expect(isVersion(v)).toBe(true),
  );

  it.each(["", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "v1.2.3", "1.2.3-", "1.2.3+", "1.2.3-a b", " 1.2.3", "latest"])("%j is not a version", (v) =>
    expect(isVersion(v)).toBe(false),
  );
});

describe("compareVersions", () => {
  it("the semver spec's precedence chain, every pair", () => {
    const chain = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.1.0",
      "2.0.0-0",
      "2.0.0",
      "2.1.0",
      "2.1.1",
      "10.0.0",
    ];
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++) expect(sign(chain[i]!, chain[j]!), `${chain[i]} vs ${chain[j]}`).toBe(Math.sign(i - j));
    }
  });

  it("core numbers compare numerically, not as text", () => {
    expect(sign("1.10.0", "1.9.0")).toBe(1);
    expect(sign("1.0.10", "1.0.9")).toBe(1);
    expect(sign("10.0.0", "9.99.99")).toBe(1);
    expect(sign("4.1.5", "4.2.0")).toBe(-1);
  });

  it("numeric pre-release identifiers rank below alphanumeric ones", () => {
    expect(sign("1.0.0-1", "1.0.0-a")).toBe(-1);
    expect(sign("1.0.0-alpha.1", "1.0.0-alpha.a")).toBe(-1);
    expect(sign("1.0.0-alpha.99", "1.0.0-alpha.1a")).toBe(-1);
  });

  it("alphanumeric identifiers compare in ASCII order; hyphens are part of an identifier", () => {
    expect(sign("1.0.0-Beta", "1.0.0-alpha")).toBe(-1);
    expect(sign("1.0.0-alpha-2", "1.0.0-alpha-10")).toBe(1);
    expect(sign("1.0.0-alpha-1", "1.0.0-alpha")).toBe(1);
  });

  it("build metadata is ignored", () => {
    expect(compareVersions("1.0.0+build.1", "1.0.0")).toBe(0);
    expect(compareVersions("1.0.0+build.1", "1.0.0+build.2")).toBe(0);
    expect(compareVersions("1.0.0-rc.1+exp.sha.5114f85", "1.0.0-rc.1")).toBe(0);
    expect(sign("1.0.0-rc.1+zzz", "1.0.0")).toBe(-1);
    expect(sign("1.0.0+build-with-hyphen", "1.0.0-alpha")).toBe(1);
  });

  it("equal versions compare 0, and the order is antisymmetric", () => {
    for (const v of ["0.0.0", "1.2.3", "1.0.0-alpha.1"]) expect(compareVersions(v, v)).toBe(0);
    expect(compareVersions("1.0.0-beta", "1.0.0")).toBe(-compareVersions("1.0.0", "1.0.0-beta"));
  });
});
