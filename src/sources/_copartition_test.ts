import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { AssignerProtocol, type Cluster } from "kafkajs";
import {
  coPartition,
  COPARTITIONED,
  coPartitionedAssigner,
  partitionCountMismatch,
} from "./_copartition.ts";

const TOPICS = ["t.dde", "t.bdv", "t.acc"];
const counts = (n: number) => Object.fromEntries(TOPICS.map((t) => [t, n]));

Deno.test("coPartition gives partition p of every topic to one member, balanced", () => {
  for (let members = 1; members <= 6; members++) {
    for (let partitions = 1; partitions <= 12; partitions++) {
      const ids = Array.from({ length: members }, (_, i) => `m-${(i * 7) % members}-${i}`);
      const out = coPartition(ids, counts(partitions));
      assert.equal(out.size, members, "every member gets an entry");
      const owner = new Map<number, string>();
      const load: number[] = [];
      for (const [member, assignment] of out) {
        const numbers = assignment[TOPICS[0]] ?? [];
        for (const t of TOPICS) assert.deepEqual(assignment[t] ?? [], numbers, `${member} ${t}`);
        for (const p of numbers) {
          assert.ok(!owner.has(p), `partition ${p} assigned twice`);
          owner.set(p, member);
        }
        load.push(numbers.length);
      }
      assert.equal(owner.size, partitions, "every partition number has an owner");
      assert.ok(Math.max(...load) - Math.min(...load) <= 1, `balanced: ${load}`);
    }
  }
});

Deno.test("coPartition does not depend on the order members are listed in", () => {
  const a = coPartition(["b", "c", "a"], counts(4));
  const b = coPartition(["a", "b", "c"], counts(4));
  assert.deepEqual([...a].sort(), [...b].sort());
  assert.deepEqual(a.get("a"), { "t.dde": [0, 3], "t.bdv": [0, 3], "t.acc": [0, 3] });
});

Deno.test("topics with different partition counts are refused with their names and counts", () => {
  assert.equal(partitionCountMismatch(counts(4)), undefined);
  const mixed = { "t.dde": 4, "t.bdv": 4, "t.acc": 3 };
  const message = partitionCountMismatch(mixed);
  assert.match(message!, /same partition count/);
  assert.match(message!, /t\.dde has 4, t\.bdv has 4, t\.acc has 3/);
  assert.throws(() => coPartition(["a", "b"], mixed), /t\.acc has 3/);
});

// The kafkajs side: what the leader sends (MemberAssignment) decodes to the co-partitioned split,
// and members subscribing to other topics (another spec) fail the assignment.
const cluster = (n: number) =>
  ({
    findTopicPartitionMetadata: () =>
      Array.from({ length: n }, (_, partitionId) => ({ partitionId })),
  }) as unknown as Cluster;
const member = (memberId: string, topics: string[]) => ({
  memberId,
  memberMetadata: AssignerProtocol.MemberMetadata.encode({
    version: 0,
    topics,
    userData: Buffer.alloc(0),
  }),
});

Deno.test("the kafkajs assigner encodes the co-partitioned assignment", async () => {
  const assigner = (await coPartitionedAssigner())({
    cluster: cluster(4),
    groupId: "g",
    logger: undefined as never,
  });
  assert.equal(assigner.name, COPARTITIONED);
  const protocol = assigner.protocol({ topics: TOPICS });
  assert.deepEqual(AssignerProtocol.MemberMetadata.decode(protocol.metadata)?.topics, TOPICS);
  const result = await assigner.assign({
    members: [member("m2", TOPICS), member("m1", TOPICS)],
    topics: TOPICS,
  });
  const decoded = Object.fromEntries(
    result.map((r) => [
      r.memberId,
      AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment,
    ]),
  );
  assert.deepEqual(decoded, {
    m1: { "t.dde": [0, 2], "t.bdv": [0, 2], "t.acc": [0, 2] },
    m2: { "t.dde": [1, 3], "t.bdv": [1, 3], "t.acc": [1, 3] },
  });
  assert.throws(
    () => assigner.assign({ members: [member("m1", TOPICS), member("m2", ["x"])], topics: TOPICS }),
    /subscribe to different topics/,
  );
});
