import { generate, parser as createParser, type IPublishPacket, type Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { packetFramer, packetLength, splitPackets } from "./acking-consumer.ts";

type Seen = { publishes: IPublishPacket[]; pubacks: Array<{ id: number; code: number }>; others: Packet[] };

/** Feeds `stream` in chunks of the given sizes (cycled) through the consumer's framer. */
function feed(stream: Buffer, sizes: number[], protocolVersion: 4 | 5): Seen {
  const seen: Seen = { publishes: [], pubacks: [], others: [] };
  const parser = createParser({ protocolVersion });
  parser.on("packet", (p) => seen.others.push(p));
  parser.on("error", (err) => {
    throw err;
  });
  const frame = packetFramer(protocolVersion, {
    publish: (p) => seen.publishes.push(p),
    puback: (id, code) => seen.pubacks.push({ id, code }),
    other: (frame) => parser.parse(frame),
  });
  for (let at = 0, i = 0; at < stream.length; i++) {
    const chunk = stream.subarray(at, at + sizes[i % sizes.length]!);
    at += chunk.length;
    frame(chunk);
  }
  return seen;
}

const publish = (i: number, extra: Partial<IPublishPacket> = {}): IPublishPacket => ({
  cmd: "publish",
  topic: `fleet/dev-${i}/shadow/update`,
  payload: Buffer.from(JSON.stringify({ seq: i, v: "é✓" })),
  qos: 1,
  messageId: (i % 65_535) + 1,
  dup: i % 3 === 0,
  retain: false,
  ...extra,
});

describe("splitPackets", () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`reads PUBLISH packets (MQTT ${protocolVersion === 5 ? "5" : "3.1.1"}) exactly as mqtt-packet does, across any chunking`, () => {
      const packets: Packet[] = [
        publish(1),
        publish(2, { qos: 0, messageId: undefined, retain: true }),
        publish(3, { topic: "fleet/gerät-ü/status", payload: Buffer.alloc(20_000, 0x61) }), // 3-byte remaining length
        publish(4, { payload: Buffer.alloc(0) }),
        { cmd: "pingresp" },
        { cmd: "puback", messageId: 7 },
        ...(protocolVersion === 5 ? [{ cmd: "puback", messageId: 8, reasonCode: 0x10 } as Packet, { cmd: "puback", messageId: 9, reasonCode: 0x87, properties: { reasonString: "not authorized" } } as Packet] : []),
        { cmd: "suback", messageId: 1, granted: [1, 1], ...(protocolVersion === 5 ? { reasonCode: 0 } : {}) } as Packet,
        ...(protocolVersion === 5
          ? [publish(5, { properties: { payloadFormatIndicator: true, contentType: "application/json", userProperties: { a: "b" } } })]
          : []),
        ...Array.from({ length: 300 }, (_, i) => publish(100 + i)),
      ];
      const stream = Buffer.concat(packets.map((p) => generate(p, { protocolVersion })));
      const expected = { publishes: [] as IPublishPacket[], pubacks: [] as Array<{ id: number; code: number }>, others: [] as Packet[] };
      const reference = createParser({ protocolVersion });
      reference.on("packet", (p) =>
        p.cmd === "publish"
          ? expected.publishes.push(p)
          : p.cmd === "puback"
            ? expected.pubacks.push({ id: p.messageId!, code: p.reasonCode ?? 0 })
            : expected.others.push(p),
      );
      reference.parse(stream);

      for (const sizes of [[stream.length], [1], [2, 3, 5], [7, 4096], [65_536]]) {
        const seen = feed(stream, sizes, protocolVersion);
        expect(seen.others.map((p) => p.cmd)).toEqual(expected.others.map((p) => p.cmd));
        expect(seen.pubacks).toEqual(expected.pubacks);
        expect(seen.pubacks.length).toBe(protocolVersion === 5 ? 3 : 1);
        expect(seen.publishes).toHaveLength(expected.publishes.length);
        seen.publishes.forEach((p, i) => {
          const want = expected.publishes[i]!;
          expect({ topic: p.topic, qos: p.qos, dup: p.dup, retain: p.retain, messageId: p.messageId }).toEqual({
            topic: want.topic, qos: want.qos, dup: want.dup, retain: want.retain, messageId: want.qos > 0 ? want.messageId : undefined,
          });
          expect(Buffer.compare(p.payload as Buffer, want.payload as Buffer)).toBe(0);
        });
      }
    });
  }

  it("joins a large packet's chunks once, however many there are", () => {
    const big = publish(9, { payload: Buffer.alloc(3 * 1024 * 1024, 0x62) });
    const stream = Buffer.concat([generate(big, { protocolVersion: 5 }), generate(publish(10), { protocolVersion: 5 })]);
    const concat = Buffer.concat;
    let joins = 0;
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      joins++;
      return concat(list, total);
    }) as typeof Buffer.concat;
    try {
      const seen = feed(stream, [1, 16 * 1024], 5);
      expect(seen.publishes.map((p) => (p.payload as Buffer).length)).toEqual([3 * 1024 * 1024, (publish(10).payload as Buffer).length]);
    } finally {
      Buffer.concat = concat;
    }
    expect(joins).toBeLessThanOrEqual(3);
  });

  it("knows a packet's length from its fixed header", () => {
    expect(packetLength(Buffer.from([0x30]))).toBeNull();
    expect(packetLength(Buffer.from([0x30, 0x05]))).toBe(7);
    expect(packetLength(Buffer.from([0x30, 0x80]))).toBeNull();
    expect(packetLength(Buffer.from([0x30, 0x80, 0x01]))).toBe(3 + 128);
    expect(packetLength(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBe(5 + 268_435_455);
  });

  it("keeps an incomplete packet for the next chunk", () => {
    const whole = generate(publish(7), { protocolVersion: 5 });
    const seen: IPublishPacket[] = [];
    const on = { publish: (p: IPublishPacket) => seen.push(p), puback: () => {}, other: () => {} };
    const rest = splitPackets(whole.subarray(0, whole.length - 1), 5, on);
    expect(seen).toHaveLength(0);
    expect(rest?.length).toBe(whole.length - 1);
    expect(splitPackets(Buffer.concat([rest!, whole.subarray(-1)]), 5, on)).toBeNull();
    expect(seen.map((p) => p.topic)).toEqual(["fleet/dev-7/shadow/update"]);
  });

  it("refuses malformed packets instead of reading past them", () => {
    const noop = { publish: () => {}, puback: () => {}, other: () => {} };
    // Remaining length with a fifth continuation byte.
    expect(() => splitPackets(Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01]), 5, noop)).toThrow(/remaining length/);
    // Topic length beyond the packet.
    expect(() => splitPackets(Buffer.from([0x30, 0x03, 0x00, 0x09, 0x61]), 4, noop)).toThrow(/topic/);
    // QoS 3.
    expect(() => splitPackets(Buffer.from([0x36, 0x04, 0x00, 0x01, 0x61, 0x00]), 4, noop)).toThrow(/QoS 3/);
    // QoS 1 without a packet id.
    expect(() => splitPackets(Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61]), 4, noop)).toThrow(/packet identifier/);
    // PUBACK without a packet id.
    expect(() => splitPackets(Buffer.from([0x40, 0x01, 0x00]), 5, noop)).toThrow(/PUBACK/);
    // MQTT 5 properties longer than the packet.
    expect(() => splitPackets(Buffer.from([0x32, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x09]), 5, noop)).toThrow(/properties/);
  });
});
