// Child process for acking-consumer.int.test.ts ("a real crash"): a consumer that
// commits in small batches like the ingest worker, acknowledging only the messages
// whose payload (an integer) is a multiple of ACK_EVERY, and waits to be killed -9.
// Reports on stdout, one JSON object a line:
//   {"event":"subscribed"} | {"event":"received","n":7} | {"event":"committed","acked":[0,3]} | {"event":"error",...}
// "committed" is printed after the batch's PUBACKs were written to the socket.
import { startAckingConsumer, type InboundMessage } from "../acking-consumer.ts";

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`crash-consumer: ${name} is required`);
  return value;
};
const ackEvery = Number(env.ACK_EVERY ?? "3");
const out = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
let batch: InboundMessage[] = [];

function commit(): void {
  const acked: number[] = [];
  for (const msg of batch.splice(0)) {
    const n = Number(msg.payload.toString());
    if (n % ackEvery === 0) {
      msg.ack();
      acked.push(n);
    }
  }
  // Acks are written on the next tick; setImmediate runs after that.
  if (acked.length > 0) setImmediate(() => out({ event: "committed", acked }));
}

startAckingConsumer({
  url: required("MQTT_URL"),
  clientId: required("CLIENT_ID"),
  ...(env.MQTT_USERNAME ? { username: env.MQTT_USERNAME, password: env.MQTT_PASSWORD ?? "" } : {}),
  protocolVersion: env.PROTOCOL_VERSION === "4" ? 4 : 5,
  filters: [required("FILTER")],
  onMessage(msg) {
    out({ event: "received", n: Number(msg.payload.toString()) });
    if (batch.push(msg) === 1) setTimeout(commit, 5);
  },
  onSubscribed: () => out({ event: "subscribed" }),
  onError: (err) => out({ event: "error", message: err.message }),
});
