/** `ics topics`: create the stream topics and the dead-letter topic (idempotent). */
import type { Admin } from "kafkajs";
import { createKafka, kafkaError } from "../kafka/mod.ts";
import { load } from "./_common.ts";
import { cliLog, KAFKA, kafkaTarget } from "./_kafka.ts";
import { command } from "./_command.ts";
import { number } from "./_flags.ts";

export const cli = command({
  name: "topics",
  summary: "create the stream and dead-letter topics",
  about:
    `Create the topic of every stream and the dead-letter topic on the target's Kafka. Topics that
exist are left as they are and reported with their partition count. The stream topics must have
the same partition count (they are co-partitioned by iteration_id; ics run refuses them otherwise).`,
  flags: {
    partitions: number("N", "partitions of each new topic", { min: 1, integer: true, default: 3 }),
    "replication-factor": number("N", "replicas of each new topic", {
      min: 1,
      integer: true,
      defaultHelp: "the broker's default",
    }),
    ...KAFKA,
  },
  exits: "0 done, 1 invalid spec, 2 bad usage, 3 Kafka failure.",
});

export interface TopicState {
  topic: string;
  created: boolean;
  partitions: number;
}

/** Create the topics that do not exist; report every topic with its partition count. */
export async function ensureTopics(
  admin: Admin,
  topics: string[],
  options: { partitions: number; replicationFactor?: number },
): Promise<TopicState[]> {
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(topics)].filter((t) => !existing.has(t));
  if (missing.length) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: options.partitions,
        replicationFactor: options.replicationFactor ?? -1,
      })),
    });
  }
  const meta = await admin.fetchTopicMetadata({ topics: [...new Set(topics)] });
  const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  return [...new Set(topics)].map((topic) => ({
    topic,
    created: missing.includes(topic),
    partitions: counts.get(topic) ?? 0,
  }));
}

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const { partitions, "replication-factor": replicationFactor } = values;
  const spec = await load(values.spec);
  const target = kafkaTarget(spec, values.target);
  const admin = (await createKafka(target.source, cliLog("topics"))).admin();
  try {
    await admin.connect();
    const topics = [...Object.values(target.streamTopics), target.dlqTopic];
    const states = await ensureTopics(admin, topics, { partitions, replicationFactor });
    for (const s of states) {
      console.log(
        `  ${s.topic.padEnd(32)}${s.created ? "created" : "exists "}  ${s.partitions} partitions`,
      );
    }
    const streamCounts = new Set(
      states.filter((s) => s.topic !== target.dlqTopic).map((s) => s.partitions),
    );
    if (streamCounts.size > 1) {
      console.error(
        "ics topics: warning: the stream topics have different partition counts; " +
          "ics run refuses them (an iteration's events would land on different partition " +
          "numbers): recreate them with one count",
      );
    }
    return 0;
  } catch (error) {
    throw kafkaError("creating topics", error);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
