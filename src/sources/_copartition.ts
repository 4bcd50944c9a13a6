/**
 * The Kafka source's partition assigner: partition number p of EVERY subscribed topic goes to the
 * same group member. Correlation happens per iteration across the dde, bdv and acc topics, and
 * producers key by `iteration_id`, so an iteration's events sit on the same partition number in
 * each topic; whoever owns that number owns the iteration. kafkajs's round-robin assigner deals
 * topic-partitions out one by one and may give dde/0 and bdv/0 to different members.
 *
 * Partition numbers are dealt out to the members sorted by id (p → member p mod n), so the load is
 * balanced by partition number. Topics with different partition counts cannot be co-partitioned
 * (one key hashes to different numbers): the source refuses to start on them, and the assigner
 * fails the group if it finds them anyway (partitions added to one topic while running).
 * @module
 */
import { Buffer } from "node:buffer";
import type { Assigner, PartitionAssigner } from "kafkajs";
import { kafkajs } from "../kafka/mod.ts";

/** The group protocol name: every member of a group must offer it. */
export const COPARTITIONED = "IcsCoPartitioned";

/** Member id → topic → partition numbers. Every member gets an entry, maybe empty. */
export type GroupAssignment = Map<string, Record<string, number[]>>;

/** Partition counts of topics that must be co-partitioned, as one clear line; undefined if equal. */
export function partitionCountMismatch(counts: Record<string, number>): string | undefined {
  if (new Set(Object.values(counts)).size <= 1) return undefined;
  const list = Object.entries(counts).map(([t, n]) => `${t} has ${n}`).join(", ");
  return `the source topics must have the same partition count (an iteration's events are ` +
    `correlated by whoever owns its partition number in every topic): ${list}`;
}

/** Deal partition number p of every topic to member p mod n (members sorted by id). */
export function coPartition(members: string[], counts: Record<string, number>): GroupAssignment {
  const mismatch = partitionCountMismatch(counts);
  if (mismatch) throw new Error(mismatch);
  const sorted = [...new Set(members)].sort();
  const out: GroupAssignment = new Map(sorted.map((m) => [m, {}]));
  const partitions = Object.values(counts)[0] ?? 0;
  for (let p = 0; p < partitions && sorted.length; p++) {
    const assignment = out.get(sorted[p % sorted.length])!;
    for (const topic of Object.keys(counts)) (assignment[topic] ??= []).push(p);
  }
  return out;
}

/** The kafkajs assigner (`partitionAssigners` of a consumer) built on {@link coPartition}. */
export const coPartitionedAssigner = async (): Promise<PartitionAssigner> => {
  const { AssignerProtocol: { MemberMetadata, MemberAssignment } } = await kafkajs();
  return ({ cluster }): Assigner => ({
    name: COPARTITIONED,
    version: 0,
    assign({ members, topics }) {
      // Members with another subscription (another spec) cannot share partition numbers.
      for (const m of members) {
        const subscribed = MemberMetadata.decode(m.memberMetadata)?.topics ?? [];
        if ([...subscribed].sort().join() !== [...topics].sort().join()) {
          throw new Error(
            `consumer group members subscribe to different topics (${subscribed.join(", ")} vs ` +
              `${topics.join(", ")}): every instance of a group must run the same spec`,
          );
        }
      }
      const counts = Object.fromEntries(
        topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]),
      );
      const assignment = coPartition(members.map((m) => m.memberId), counts);
      return Promise.resolve([...assignment].map(([memberId, topicPartitions]) => ({
        memberId,
        memberAssignment: MemberAssignment.encode({
          version: 0,
          assignment: topicPartitions,
          userData: Buffer.alloc(0),
        }),
      })));
    },
    protocol: ({ topics }) => ({
      name: COPARTITIONED,
      metadata: MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }),
  });
};
