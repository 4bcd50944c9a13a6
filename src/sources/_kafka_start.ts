/**
 * `ics replay --from`: where a Kafka source starts instead of its group's committed offsets. Each
 * partition starts at its log start (`earliest`) or at its first record whose timestamp is at or
 * after the time (Kafka's ListOffsets by timestamp; the partition's end when no record is that
 * recent). Record timestamps are the log's: by default the time the producer sent the record.
 *
 * The consumer seeks there when it first fetches; the batcher also drops anything below the
 * start, since kafkajs forgets seeks when it restarts a crashed consumer before the first commit.
 * @module
 */
import type { Admin } from "kafkajs";

/** Start offset per partition, keyed `topic/partition` (as the drain plan keys them). */
export type StartOffsets = Map<string, bigint>;

export async function startOffsets(
  admin: Admin,
  topics: string[],
  from: "earliest" | number,
): Promise<StartOffsets> {
  const start: StartOffsets = new Map();
  for (const topic of topics) {
    const offsets = from === "earliest"
      ? (await admin.fetchTopicOffsets(topic)).map((p) => ({ ...p, offset: p.low }))
      : await admin.fetchTopicOffsetsByTimestamp(topic, from);
    for (const p of offsets) start.set(`${topic}/${p.partition}`, BigInt(p.offset));
  }
  return start;
}

/** The seeks that move a consumer to the start offsets. */
export function seeks(start: StartOffsets): { topic: string; partition: number; offset: string }[] {
  return [...start].map(([key, offset]) => {
    const at = key.lastIndexOf("/");
    return {
      topic: key.slice(0, at),
      partition: Number(key.slice(at + 1)),
      offset: String(offset),
    };
  });
}
