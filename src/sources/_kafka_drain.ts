/**
 * `--drain` for the Kafka source: what "everything that was in the topics at start" means, per
 * partition, and when it has been reached.
 *
 * At start, each partition's target is its high watermark; its position is the group's committed
 * offset (or, without one, the log start when reading from the beginning, the end otherwise). A
 * partition whose position already reached its target (an empty partition, or one a previous run
 * finished) needs nothing. Positions advance when a batch is committed, and also when kafkajs
 * skips a fetch made only of transaction markers or aborted records (those never reach the
 * source but sit below the high watermark). With several instances in the group, positions also
 * advance by what the group committed (`refresh()`, polled by the source): every instance stops
 * once the whole group has processed what was there at its start, whoever owned which partition.
 * @module
 */
import type { Admin } from "kafkajs";

export interface Drain {
  /** The offset to stop before, or undefined when the partition is not part of the drain. */
  target(topic: string, partition: number): bigint | undefined;
  /** The partition's position moved to `to` (a committed offset: next offset to read). */
  advance(topic: string, partition: number, to: bigint): void;
  /** Whether the partition reached its target. */
  reached(topic: string, partition: number): boolean;
  /** Whether every partition reached its target. */
  done(): boolean;
  /** Records left to read, for logs. */
  remaining(): bigint;
  /** Advance every partition to the offset the group committed (other members' work too). */
  refresh(): Promise<void>;
}

export async function planDrain(
  admin: Admin,
  groupId: string,
  topics: string[],
  fromBeginning: boolean,
  /** Start offsets that replace the group's committed ones (`ics replay --from`). */
  from?: Map<string, bigint>,
): Promise<Drain> {
  const targets = new Map<string, bigint>();
  const positions = new Map<string, bigint>();
  const groupCommitted = async () => {
    const out = new Map<string, bigint>();
    for (const t of await admin.fetchOffsets({ groupId, topics })) {
      for (const p of t.partitions) out.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
    }
    return out;
  };
  const committedOf = await groupCommitted();
  for (const topic of topics) {
    for (const w of await admin.fetchTopicOffsets(topic)) {
      const key = `${topic}/${w.partition}`;
      const high = BigInt(w.high);
      const c = committedOf.get(key) ?? -1n;
      const start = from?.get(key) ?? (c >= 0n ? c : fromBeginning ? BigInt(w.low) : high);
      targets.set(key, high);
      positions.set(key, start);
    }
  }
  const reachedKey = (key: string) => (positions.get(key) ?? 0n) >= (targets.get(key) ?? 0n);
  const advanceKey = (key: string, to: bigint) => {
    if (to > (positions.get(key) ?? -1n)) positions.set(key, to);
  };
  return {
    target: (topic, partition) => targets.get(`${topic}/${partition}`),
    advance: (topic, partition, to) => advanceKey(`${topic}/${partition}`, to),
    async refresh() {
      for (const [key, offset] of await groupCommitted()) advanceKey(key, offset);
    },
    reached: (topic, partition) => reachedKey(`${topic}/${partition}`),
    done: () => [...targets.keys()].every(reachedKey),
    remaining() {
      let n = 0n;
      for (const [key, high] of targets) {
        const left = high - (positions.get(key) ?? 0n);
        if (left > 0n) n += left;
      }
      return n;
    },
  };
}
