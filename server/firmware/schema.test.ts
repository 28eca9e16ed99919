import { describe, expect, it } from "vitest";
import { z } from "zod";
import { firmwareMetadataSchema } from "./schema.ts";

const good = { version: "4.2.0", deviceType: "gateway", compatibleHardware: ["rev-a", "rev-b"], minVersion: "4.0.0", releaseNotes: "Fixes." };

function fieldErrors(input: unknown) {
  const result = firmwareMetadataSchema.safeParse(input);
  return result.success ? {} : z.flattenError(result.error).fieldErrors;
}

describe("firmware upload metadata", () => {
  it("accepts a complete upload and fills the optional parts", () => {
    expect(firmwareMetadataSchema.parse(good)).toEqual(good);
    expect(firmwareMetadataSchema.parse({ version: " 1.0.0-rc.1+b7 ", deviceType: "sensor/th" })).toEqual({
      version: "1.0.0-rc.1+b7",
      deviceType: "sensor/th",
      compatibleHardware: [],
      releaseNotes: "",
    });
  });

  it("deduplicates hardware versions", () => {
    expect(firmwareMetadataSchema.parse({ ...good, compatibleHardware: ["a", " a", "b"] }).compatibleHardware).toEqual(["a", "b"]);
  });

  it("keys each problem by its field", () => {
    expect(fieldErrors({ ...good, version: "4.2", deviceType: "", compatibleHardware: ["ok", "bad!"], minVersion: "v4" })).toEqual({
      version: ["Use a semantic version, e.g. 4.2.0."],
      deviceType: [expect.stringMatching(/device type/)],
      compatibleHardware: [expect.stringMatching(/hardware version/)],
      minVersion: ["Use a semantic version, e.g. 4.2.0."],
    });
  });

  it("requires the minimum version to be below the version, by semantic precedence", () => {
    expect(fieldErrors({ ...good, minVersion: "4.2.0" })).toEqual({ minVersion: ["The minimum version must be below 4.2.0."] });
    expect(fieldErrors({ ...good, minVersion: "4.10.0" })).toEqual({ minVersion: ["The minimum version must be below 4.2.0."] });
    expect(fieldErrors({ ...good, version: "4.2.0-rc.1", minVersion: "4.2.0" })).toHaveProperty("minVersion");
    expect(fieldErrors({ ...good, version: "4.2.0", minVersion: "4.2.0-rc.1" })).toEqual({});
  });

  it("caps release notes at 10,000 characters", () => {
    expect(fieldErrors({ ...good, releaseNotes: "x".repeat(10_000) })).toEqual({});
    expect(fieldErrors({ ...good, releaseNotes: "x".repeat(10_001) })).toEqual({ releaseNotes: ["Keep release notes under 10,000 characters."] });
  });

  it("reports the minimum version problem alongside other fields' problems", () => {
    expect(Object.keys(fieldErrors({ ...good, deviceType: "", minVersion: "5.0.0" })).sort()).toEqual(["deviceType", "minVersion"]);
  });
});
