/**
 * Dead letters larger than a produce request may be, on the services target. A burst of 5,000
 * poison events in one batch makes letters well over the broker's message size limit
 * (`max.message.bytes`, 1 MB by default): they are sent in several requests under the limit, in
 * the one transaction that commits the batch's offsets. A single poison event of 2 MB (its topic
 * takes it; the dead-letter topic does not) is dead-lettered truncated, saying so and where the
 * whole record is (and `ics dlq redrive` skips it, saying so). Both runs exit 0 with every letter
 * on the dead-letter topic and the offsets committed.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import postgresJs from "postgres";
import { SERVICES, serviceTest } from "./_services.ts";
import { committed, createTopics, kafka, readAll, withAdmin } from "./_kafka.ts";
import { deleteSubjects, ics, type PrivateSpec, privateSpec, root } from "./_private.ts";

const NEEDS = ["kafka", "schema_registry", "redis", "neo4j", "postgres"] as const;

/** A private spec whose Kafka source takes up to 10,000 records per batch. */
async function setup(name: string) {
  const p = await privateSpec(name);
  const text = await Deno.readTextFile(p.spec);
  const group = `      group_id: "${p.group}"\n`;
  assert.ok(text.includes(group));
  await Deno.writeTextFile(p.spec, text.replace(group, `${group}      max_batch_records: 10000\n`));
  return p;
}

async function cleanup(p: PrivateSpec) {
  const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${p.pgSchema} CASCADE`).catch(() => {});
  await sql.end();
  const redis = new Redis(SERVICES.redis);
  const stale = await redis.keys(`${p.redisPrefix}*`);
  if (stale.length) await redis.del(...stale);
  redis.disconnect();
  await withAdmin((a) => a.deleteGroups([p.group, `${p.group}.redrive`])).catch(() => {});
  await deleteSubjects(p);
  await Deno.remove(p.dir, { recursive: true });
}

/**
 * `ics run --drain` on the private spec, as a process stopped after two minutes (a run that
 * cannot commit its batch would otherwise wait for it forever); its exit code 0 is required.
 */
async function runDrained(p: PrivateSpec): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-all", `${root}src/cli/main.ts`],
      ...["run", ...p.services, "--drain", "--metrics-port", "0"],
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(
    out.code,
    0,
    `ics run: exit ${out.code}, ${out.signal ?? "no signal"}\n${text(out.stderr)}`,
  );
  return text(out.stdout);
}

async function produce(topic: string, values: Uint8Array[]) {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((v) => ({ value: Buffer.from(v) })),
    });
  } finally {
    await producer.disconnect();
  }
}

serviceTest(
  "a burst of 5,000 poison events in one batch: every letter on the DLQ topic, in one transaction with the offsets",
  [...NEEDS],
  async () => {
    const name = `burst_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const p = await setup(name);
    // One partition everywhere: the burst is one fetch, one batch, one partition of letters.
    await using _topics = await createTopics([...Object.values(p.streamTopics), p.dlqTopic], 1);
    try {
      const n = 5000;
      const poison = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`poison ${i}`));
      await produce(p.streamTopics.dde, poison);
      const out = await runDrained(p);
      assert.match(out, new RegExp(`dead letters\\s+${n} \\(decode_error ${n}\\)`));

      const letters = await readAll(p.dlqTopic);
      assert.equal(letters.length, n);
      const offsets = letters.map((l) => Number(l.headers["ics.source.offset"]));
      assert.deepEqual(offsets.sort((a, b) => a - b), [...Array(n).keys()]);
      assert.ok(letters.every((l) => l.headers["ics.truncated"] === undefined));
      const bytes = letters.reduce(
        (sum, l) =>
          sum + l.value.length +
          Object.entries(l.headers).reduce((s, [k, v]) => s + k.length + v.length, 0),
        0,
      );
      assert.ok(bytes > 1_048_588, `${bytes} bytes of letters: more than one request may carry`);
      assert.deepEqual(await committed(p.group, [p.streamTopics.dde]), {
        [`${p.streamTopics.dde}/0`]: String(n),
      });
    } finally {
      await cleanup(p);
    }
  },
);

serviceTest(
  "a 2 MB poison event is dead-lettered truncated to the DLQ topic's limit, saying so and where it is",
  [...NEEDS],
  async () => {
    const name = `huge_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const p = await setup(name);
    // The stream topic takes messages of 4 MB; the dead-letter topic keeps the default (1 MB).
    const dde = p.streamTopics.dde;
    await withAdmin((a) =>
      a.createTopics({
        waitForLeaders: true,
        topics: [{
          topic: dde,
          numPartitions: 1,
          configEntries: [{ name: "max.message.bytes", value: "4194304" }],
        }],
      })
    );
    await using _topics = await createTopics([...Object.values(p.streamTopics), p.dlqTopic], 1);
    try {
      const huge = new Uint8Array(2 * 1024 * 1024).fill(120); // "xxx…": no Confluent frame
      const small = new TextEncoder().encode("not an event");
      await produce(dde, [small, huge, small]);
      const out = await runDrained(p);
      // Too large for validation.max_event_bytes, which is checked before decoding.
      assert.match(out, /dead letters\s+3 \(decode_error 2, schema_violation 1\)/);

      const letters = await readAll(p.dlqTopic);
      assert.deepEqual(letters.map((l) => l.headers["ics.source.offset"]), ["0", "1", "2"]);
      const [first, big, last] = letters;
      for (const l of [first, last]) {
        assert.equal(new TextDecoder().decode(l.value), "not an event");
        assert.equal(l.headers["ics.truncated"], undefined);
      }
      assert.equal(big.headers["ics.category"], "schema_violation");
      assert.equal(big.headers["ics.truncated"], String(huge.length));
      assert.ok(big.value.length > 900_000 && big.value.length < 1_048_588, `${big.value.length}`);
      assert.deepEqual(
        new Uint8Array(big.value),
        huge.subarray(0, big.value.length),
        "its first bytes",
      );
      assert.match(
        big.headers["ics.reason"],
        new RegExp(
          `^.+ \\[payload truncated to ${big.value.length} of ${huge.length} bytes.*${
            dde.replaceAll(".", "\\.")
          }/0@1`,
        ),
      );
      assert.deepEqual(await committed(p.group, [dde]), { [`${dde}/0`]: "3" });

      // A redrive cannot re-inject a record it has only the start of: it says where the whole is.
      const redrive = await ics("dlq", "redrive", ...p.services, "--dry-run", "--json");
      assert.equal(redrive.code, 0, redrive.stderr);
      assert.equal(JSON.parse(redrive.stdout).total.redriven, 2);
      assert.match(
        redrive.stderr,
        new RegExp(`only the first ${big.value.length} of its record's ${huge.length} bytes`),
      );
    } finally {
      await cleanup(p);
    }
  },
);
