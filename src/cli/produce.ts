/** `ics produce`: publish JSONL events (README, Events) to the stream topics as Avro. */
import { Buffer } from "node:buffer";
import { resolve } from "node:path";
import type { CompiledSpec } from "../compiler/mod.ts";
import type { RawRecord } from "../core/types.ts";
import { createDecoder } from "../codecs/mod.ts";
import { encode } from "../codecs/confluent.ts";
import { createRegistry, type Registry, valueSubject } from "../schema_registry/mod.ts";
import { createKafka, type Kafka, kafkaError, partitioner } from "../kafka/mod.ts";
import { load } from "./_common.ts";
import { cliLog, fileLines, KAFKA, kafkaTarget } from "./_kafka.ts";
import { UserError } from "../core/errors.ts";
import { command } from "./_command.ts";
import { boolean, number, string } from "./_flags.ts";

export const cli = command({
  name: "produce",
  summary: "publish JSONL events to the stream topics as Avro (registering the schemas)",
  args: "[FILE]",
  about:
    `Publish the JSON Lines events of FILE (default samples/events.jsonl) to the stream topics, keyed
by iteration_id. Each event's stream is decided by its event_type, as the JSON decoder does. The
stream schemas are registered first (subject <topic>-value, compatibility FULL_TRANSITIVE) and
values are written in the Confluent wire format; without a schema_registry, as plain Avro bodies.

Lines that are not valid events are reported and skipped. With --raw they are sent anyway, to
inject poison for tests: an event that fits its Avro schema but fails validation (a timestamp in
seconds, say) goes Avro-encoded to its stream topic; anything else goes as its raw bytes to
--topic.`,
  flags: {
    raw: boolean("send invalid lines too (see above)"),
    topic: string("TOPIC", "where --raw sends lines that cannot be encoded", {
      defaultHelp: "the dde stream's topic",
    }),
    batch: number("N", "messages per produce request", { min: 1, integer: true, default: 5000 }),
    ...KAFKA,
  },
  exits: "0 done, 1 invalid spec, 2 bad usage, 3 Kafka or registry failure.",
});

export interface ProduceOptions {
  spec: CompiledSpec;
  kafka: Kafka;
  /** Absent: plain Avro bodies, no registration. */
  registry?: Registry;
  /** Stream name → topic. */
  streamTopics: Record<string, string>;
  lines: AsyncIterable<{ line: number; bytes: Uint8Array }>;
  raw?: boolean;
  rawTopic?: string;
  batch?: number;
  /** Called for each line that is not a valid event. */
  onInvalid?: (line: number, reason: string) => void;
}

export interface ProduceReport {
  perTopic: Record<string, number>;
  invalid: number;
  elapsed_ms: number;
}

export async function produce(o: ProduceOptions): Promise<ProduceReport> {
  const started = performance.now();
  const decode = createDecoder(o.spec);
  const ids = new Map<string, number>();
  if (o.registry) {
    for (const s of o.spec.streams.values()) {
      const text = JSON.stringify(JSON.parse(await Deno.readTextFile(s.schemaFile)));
      ids.set(s.name, await o.registry.register(valueSubject(o.streamTopics[s.name]), text));
    }
  }
  const avroOf = (stream: string, event: unknown) => {
    const type = o.spec.streams.get(stream)!.type;
    return o.registry
      ? encode(ids.get(stream)!, type, event)
      : new Uint8Array(type.toBuffer(event));
  };
  const rawTopic = o.rawTopic ?? o.streamTopics.dde ?? Object.values(o.streamTopics)[0];
  const producer = o.kafka.producer({
    idempotent: true,
    allowAutoTopicCreation: false,
    createPartitioner: await partitioner(),
  });
  await producer.connect().catch((e) => {
    throw kafkaError("connecting to Kafka", e);
  });
  const perTopic: Record<string, number> = {};
  const pending = new Map<string, { key: string | null; value: Uint8Array }[]>();
  let buffered = 0;
  let invalid = 0;
  const push = (topic: string, key: string | null, value: Uint8Array) => {
    let list = pending.get(topic);
    if (!list) pending.set(topic, list = []);
    list.push({ key, value });
    buffered++;
  };
  let sending: Promise<void> | undefined;
  const flush = async () => {
    if (!buffered) return;
    const topicMessages = [...pending].map(([topic, messages]) => ({
      topic,
      messages: messages.map((m) => ({
        key: m.key,
        value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.length),
      })),
    }));
    pending.clear();
    buffered = 0;
    // One request in flight (order kept) while the next batch is encoded.
    await sending;
    sending = producer.sendBatch({ topicMessages, acks: -1 }).then(() => {
      for (const t of topicMessages) {
        perTopic[t.topic] = (perTopic[t.topic] ?? 0) + t.messages.length;
      }
    }, (e) => {
      throw kafkaError("producing to Kafka", e);
    });
    sending.catch(() => {}); // handled: the next flush (or the end) awaits it and throws
  };
  try {
    for await (const { line, bytes } of o.lines) {
      const record: RawRecord = {
        value: bytes,
        format: "json",
        position: { kind: "file", path: "-", line },
      };
      const d = decode(record);
      if (d.ok) push(o.streamTopics[d.stream], d.event.iteration_id, avroOf(d.stream, d.event));
      else {
        invalid++;
        o.onInvalid?.(line, d.reason);
        if (o.raw) poison(bytes, d.stream);
      }
      if (buffered >= (o.batch ?? 5000)) await flush();
    }
    await flush();
    await sending;
  } finally {
    await sending?.catch(() => {});
    await producer.disconnect().catch(() => {});
  }
  return { perTopic, invalid, elapsed_ms: performance.now() - started };

  /** An invalid line, Avro-encoded to its stream topic when it fits the schema, else raw bytes. */
  function poison(bytes: Uint8Array, stream: string | undefined) {
    let event: Record<string, unknown> | undefined;
    try {
      event = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch { /* not JSON */ }
    const key = typeof event?.iteration_id === "string" ? event.iteration_id : null;
    if (stream && event && typeof event === "object") {
      try {
        return push(o.streamTopics[stream], key, avroOf(stream, event));
      } catch { /* does not fit the schema */ }
    }
    push(rawTopic, key, bytes);
  }
}

export async function main(args: string[]): Promise<number> {
  const { positionals, values } = cli.parse(args);
  if (positionals.length > 1) {
    throw new UserError(
      `produce takes one file, not ${positionals.length} (see ics produce --help)`,
    );
  }
  const spec = await load(values.spec);
  const target = kafkaTarget(spec, values.target);
  const file = resolve(positionals[0] ?? "samples/events.jsonl");
  const registry = target.source.schema_registry
    ? createRegistry(target.source.schema_registry)
    : undefined;
  const report = await produce({
    spec,
    kafka: await createKafka(target.source, cliLog("produce")),
    registry,
    streamTopics: target.streamTopics,
    lines: fileLines(file),
    raw: values.raw,
    rawTopic: values.topic,
    batch: values.batch,
    onInvalid: (line, reason) =>
      console.error(`${file}:${line}: ${values.raw ? "sent anyway" : "skipped"}: ${reason}`),
  });
  const total = Object.values(report.perTopic).reduce((a, b) => a + b, 0);
  for (const [topic, n] of Object.entries(report.perTopic).sort()) {
    console.log(`  ${topic.padEnd(32)}${n}`);
  }
  console.log(
    `ics produce: ${total} messages in ${(report.elapsed_ms / 1000).toFixed(2)} s` +
      (report.invalid
        ? `, ${report.invalid} invalid line(s) ${values.raw ? "sent" : "skipped"}`
        : "") +
      (registry ? ` (Confluent wire format, registry ${registry.url})` : " (plain Avro bodies)"),
  );
  return 0;
}
