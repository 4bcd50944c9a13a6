/** `ics topics`: create the stream topics and the dead-letter topic (idempotent). */
import { parseArgs } from "node:util";
import type { Admin } from "kafkajs";
import { UserError } from "../core/errors.ts";
import { createKafka, kafkaError } from "../kafka/mod.ts";
import { load } from "./_common.ts";
import { cliLog, KAFKA_FLAGS, kafkaTarget } from "./_kafka.ts";

export const help =
  `Usage: ics topics [--partitions N] [--replication-factor N] [--target NAME] [--spec FILE]

Create the topic of every stream and the dead-letter topic on the target's Kafka. Topics that
exist are left as they are and reported with their partition count. The stream topics must have
the same partition count (they are co-partitioned by iteration_id; ics run refuses them otherwise).
${KAFKA_FLAGS}
  --partitions N           partitions of each new topic (default 3)
  --replication-factor N   replicas of each new topic (default: the broker's default)

Exit codes: 0 done, 1 invalid spec, 2 bad usage, 3 Kafka failure.`;

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

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(`${flag} "${text}" is not a positive integer`);
  }
  return n;
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      spec: { type: "string" },
      target: { type: "string" },
      partitions: { type: "string" },
      "replication-factor": { type: "string" },
    },
  });
  const partitions = positive(values.partitions, "--partitions") ?? 3;
  const replicationFactor = positive(values["replication-factor"], "--replication-factor");
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
