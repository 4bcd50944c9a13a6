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
import { isTransient } from "../kafka/mod.ts";

/** Start offset per partition, keyed `topic/partition` (as the drain plan keys them). */
export type StartOffsets = Map<string, bigint>;

export async function startOffsets(
  admin: Admin,
  topics: string[],
  from: "earliest" | number,
): Promise<StartOffsets> {
  const start: StartOffsets = new Map();
  for (const topic of topics) {
    const offsets = await whileTransient(async () =>
      from === "earliest"
        ? (await admin.fetchTopicOffsets(topic)).map((p) => ({ ...p, offset: p.low }))
        : await admin.fetchTopicOffsetsByTimestamp(topic, from)
    );
    for (const p of offsets) start.set(`${topic}/${p.partition}`, BigInt(p.offset));
  }
  return start;
}

/**
 * Retry a start-up admin call while Kafka answers with a transient error: kafkajs's admin gives
 * up at once on a leader moving (NOT_LEADER_OR_FOLLOWER), which a moment later succeeds.
 */
export async function whileTransient<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
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
