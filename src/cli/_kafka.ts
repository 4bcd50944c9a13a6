/**
 * What the Kafka commands (`produce`, `topics`, `schemas`) share: the target whose source is
 * Kafka, its connection and registry, each stream's topic, and the dead-letter topic.
 * @module
 */
import type { CompiledSpec } from "../compiler/mod.ts";
import { UserError } from "../core/errors.ts";
import { redact } from "../core/secrets.ts";
import { type KafkaSourceConfig, schema as kafkaSourceSchema } from "../sources/kafka.ts";
import { DEFAULT_DLQ_TOPIC, kafkaQueueSchema as kafkaDlqSchema } from "../dead_letters/mod.ts";
import { SPEC, targetOf } from "./_common.ts";
import { type Flags, string } from "./_flags.ts";

/** The flags of the Kafka commands: the spec, and the target whose Kafka they work on. */
export const KAFKA = {
  ...SPEC,
  target: string(
    "NAME",
    "target whose source is Kafka: brokers, SASL/TLS and the schema registry come from it",
    {
      defaultHelp:
        "the default target if its source is Kafka, else the only target with a Kafka source",
    },
  ),
} satisfies Flags;

export interface KafkaTarget {
  name: string;
  source: KafkaSourceConfig;
  /** Stream name → topic, from `streams`. */
  streamTopics: Record<string, string>;
  dlqTopic: string;
}

/** The target to use, its Kafka source config and the topics it involves. */
export function kafkaTarget(spec: CompiledSpec, name?: string): KafkaTarget {
  const targets = spec.spec.targets as Record<string, { source: unknown; dlq: unknown }>;
  const isKafka = (n: string) => kafkaSourceSchema.safeParse(targets[n]?.source).success;
  let chosen = name;
  if (chosen === undefined) {
    const kafka = Object.keys(targets).filter(isKafka);
    chosen = isKafka(spec.spec.default_target)
      ? spec.spec.default_target
      : kafka.length === 1
      ? kafka[0]
      : undefined;
    if (!chosen) {
      throw new UserError(
        kafka.length
          ? `several targets have a Kafka source (${kafka.join(", ")}); choose one with --target`
          : `no target of ${spec.file} has a Kafka source (type: kafka)`,
      );
    }
  }
  const t = targetOf(spec, chosen).target;
  const source = kafkaSourceSchema.safeParse(t.source);
  if (!source.success) throw new UserError(`target "${chosen}" does not have a Kafka source`);
  const dlq = kafkaDlqSchema.safeParse(t.dlq);
  return {
    name: chosen,
    source: source.data,
    streamTopics: Object.fromEntries([...spec.streams.values()].map((s) => [s.name, s.topic])),
    dlqTopic: dlq.success ? dlq.data.topic : DEFAULT_DLQ_TOPIC,
  };
}

/** kafkajs warnings and errors of a command, on stderr. */
export const cliLog = (command: string) => (level: "info" | "warn" | "error", message: string) => {
  if (level !== "info") console.error(`ics ${command}: ${level}: ${redact(message)}`);
};

/** The lines of a file as bytes, without their line ends; blank lines are skipped. */
export async function* fileLines(
  path: string,
): AsyncGenerator<{ line: number; bytes: Uint8Array }> {
  using file = await Deno.open(path);
  let carry = new Uint8Array(0);
  let line = 0;
  const emit = function* (bytes: Uint8Array) {
    line++;
    const end = bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    const text = bytes.subarray(0, end);
    if (text.some((b) => b !== 32 && b !== 9)) yield { line, bytes: text.slice() };
  };
  for await (const chunk of file.readable) {
    let data = chunk;
    if (carry.length) {
      data = new Uint8Array(carry.length + chunk.length);
      data.set(carry);
      data.set(chunk, carry.length);
    }
    let from = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, from)) {
      yield* emit(data.subarray(from, i));
      from = i + 1;
    }
    carry = data.slice(from);
  }
  if (carry.length) yield* emit(carry);
}
