import { describe, expect, it } from "vitest";
import { canPublish, canSubscribe, isValidDeviceId, isValidTopicName, type Identity } from "./acl.ts";

const platform: Identity = { kind: "platform" };
const dev1: Identity = { kind: "device", id: "dev-1" };

describe("isValidDeviceId", () => {
  it("accepts the protocol's id alphabet up to 64 characters", () => {
    expect(isValidDeviceId("A-z_0.9")).toBe(true);
    expect(isValidDeviceId("x".repeat(64))).toBe(true);
  });
  it("rejects empty, too long and topic-significant characters", () => {
    for (const id of ["", "x".repeat(65), "a/b", "a+b", "a#", "a b", "é"]) {
      expect(isValidDeviceId(id), id).toBe(false);
    }
  });
});

describe("canPublish", () => {
  it("lets a device publish under its own subtree", () => {
    expect(canPublish(dev1, "fleet/dev-1/shadow/update", "fleet")).toBe(true);
    expect(canPublish(dev1, "fleet/dev-1/status", "fleet")).toBe(true);
    // Mosquitto's `fleet/%u/#` matches the parent level too
    expect(canPublish(dev1, "fleet/dev-1", "fleet")).toBe(true);
  });
  it("refuses a device publishing anywhere else", () => {
    for (const topic of [
      "fleet/dev-2/shadow/update",
      "fleet/dev-10/status", // shares a textual prefix with dev-1
      "fleet/dev-1x/status",
      "fleet",
      "other/dev-1/status",
      "$SYS/broker",
      "",
    ]) {
      expect(canPublish(dev1, topic, "fleet"), topic).toBe(false);
    }
  });
  it("refuses wildcards in a topic name", () => {
    expect(canPublish(dev1, "fleet/dev-1/+", "fleet")).toBe(false);
    expect(canPublish(platform, "fleet/#", "fleet")).toBe(false);
  });
  it("refuses what MQTT does not allow in any topic name: empty, wildcards, NUL", () => {
    for (const topic of ["", "a/+/b", "a/#", "a/\u0000b"]) expect(isValidTopicName(topic), JSON.stringify(topic)).toBe(false);
    expect(isValidTopicName("fleet/dev-1/shadow/update/accepted")).toBe(true);
    expect(canPublish(platform, "fleet/dev-1/\u0000", "fleet")).toBe(false);
  });
  it("lets the platform publish anything but broker topics", () => {
    expect(canPublish(platform, "fleet/dev-2/shadow/delta", "fleet")).toBe(true);
    expect(canPublish(platform, "anything/else", "fleet")).toBe(true);
    expect(canPublish(platform, "$SYS/x", "fleet")).toBe(false);
  });
  it("refuses a device identity whose id is not a valid id", () => {
    expect(canPublish({ kind: "device", id: "+" }, "fleet/+/x", "fleet")).toBe(false);
  });
  it("honours a configured prefix", () => {
    expect(canPublish(dev1, "acme/dev-1/status", "acme")).toBe(true);
    expect(canPublish(dev1, "fleet/dev-1/status", "acme")).toBe(false);
  });
});

describe("canSubscribe", () => {
  it("lets a device subscribe inside its own subtree, wildcards included", () => {
    for (const filter of ["fleet/dev-1/#", "fleet/dev-1/shadow/+", "fleet/dev-1/+/accepted", "fleet/dev-1/sync"]) {
      expect(canSubscribe(dev1, filter, "fleet"), filter).toBe(true);
    }
  });
  it("does not let a device's wildcards escape its subtree", () => {
    for (const filter of [
      "#",
      "+/#",
      "fleet/#",
      "fleet/+/#",
      "fleet/+/status",
      "fleet/dev-2/#",
      "fleet/dev-1+/#",
      "+/dev-1/#",
      "$share/g/fleet/dev-1/#",
      "$SYS/#",
    ]) {
      expect(canSubscribe(dev1, filter, "fleet"), filter).toBe(false);
    }
  });
  it("refuses malformed filters for everyone", () => {
    for (const filter of ["", "fleet/#/x", "fleet/a#", "fleet/a+/b"]) {
      expect(canSubscribe(platform, filter, "fleet"), filter).toBe(false);
    }
  });
  it("lets the platform subscribe to anything, shared subscriptions included", () => {
    for (const filter of ["#", "fleet/+/shadow/update", "$share/workers/fleet/+/shadow/update", "$SYS/#"]) {
      expect(canSubscribe(platform, filter, "fleet"), filter).toBe(true);
    }
  });
  it("uses config.topicPrefix by default", () => {
    const previous = process.env.MQTT_TOPIC_PREFIX;
    process.env.MQTT_TOPIC_PREFIX = "acme";
    try {
      expect(canSubscribe(dev1, "acme/dev-1/#")).toBe(true);
      expect(canSubscribe(dev1, "fleet/dev-1/#")).toBe(false);
    } finally {
      if (previous === undefined) delete process.env.MQTT_TOPIC_PREFIX;
      else process.env.MQTT_TOPIC_PREFIX = previous;
    }
  });
});
