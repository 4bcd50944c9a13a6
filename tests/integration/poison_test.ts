/**
 * Poison input on the services target: the corpus's wire-level cases (broken Confluent frames,
 * unknown schema ids, truncated or corrupt Avro, writer schemas registered under other subjects)
 * and its event-level cases that Avro can carry, each produced between valid events in the real
 * wire format to topics of this run, then `ics run --target services --drain`. Every case must be
 * on the dead-letter topic with its category and reason headers; Neo4j must hold exactly the
 * graph the embedded target builds from the valid events alone, with the unusual values verbatim.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import avro from "avsc";
import neo4j from "neo4j-driver";
import postgresJs from "postgres";
import { SERVICES, serviceTest } from "./_services.ts";
import { createTopics, kafka, readAll, withAdmin } from "./_kafka.ts";
import {
  deleteIterations,
  deleteRedisKeys,
  deleteSubjects,
  privateSpec,
} from "../../bench/_services_setup.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { compile, run } from "../../src/runtime/mod.ts";
import { createRegistry, valueSubject } from "../../src/schema_registry/mod.ts";
import { openSqliteGraph } from "../../src/sinks/sqlite_graph.ts";
import { openNeo4jGraph, schema as neo4jSchema } from "../../src/sinks/neo4j_graph/mod.ts";
import type { Version } from "../../src/core/types.ts";
import {
  acc,
  type AvroSchema,
  BAD,
  bdv,
  CASES,
  dde,
  type Event,
  type Expect,
  KAFKA_MAX_EVENT_BYTES,
  OK,
  type Stream,
  type Variant,
  VARIANTS,
  WIRE,
  type Wire,
} from "../poison/cases.ts";

const root = new URL("../..", import.meta.url).pathname;
// Lower-case letters and digits: it names a Postgres schema, topics, subjects and a Redis prefix.
const RUN = `poison${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
/** This run's names for the corpus's iterations (Neo4j and Redis are shared). */
const BAD_IT = `${RUN}-bad`;
const OK_IT = `${RUN}-ok`;
const builders = { dde, bdv, acc } as const;

async function ics(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}src/cli/main.ts`, ...args],
    cwd: root,
    env,
    signal: AbortSignal.timeout(180_000), // a hung run fails the test
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, `ics ${args.join(" ")}\n${text(out.stderr)}\n${text(out.stdout)}`);
  assert.doesNotMatch(text(out.stderr), /\n\s+at /, "no stack trace");
  return text(out.stdout);
}

/** The corpus iteration ids renamed to this run's. */
function renamed(event: Event): Event {
  const it = event.iteration_id;
  if (typeof it !== "string") return event;
  for (const [from, to] of [[OK, OK_IT], [BAD, BAD_IT]]) {
    if (it.startsWith(from)) return { ...event, iteration_id: to + it.slice(from.length) };
  }
  return event;
}

/** A record value with every absent field set to its default; undefined when it does not fit. */
function filled(type: avro.Type, value: unknown): unknown {
  if (type.typeName !== "record" || value === null || typeof value !== "object") {
    return type.isValid(value) ? value : undefined;
  }
  const out: Record<string, unknown> = {};
  for (const f of (type as avro.types.RecordType).fields) {
    const v = (value as Record<string, unknown>)[f.name];
    out[f.name] = v !== undefined ? v : f.defaultValue();
  }
  return type.isValid(out) ? out : undefined;
}

interface Message {
  name: string;
  topic: string;
  key: string;
  value: Uint8Array | null;
  expect?: Expect;
}

serviceTest(
  "poison on Kafka: every case on the DLQ topic with category and reason, Neo4j holds only the valid events, verbatim",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async () => {
    const setup = await privateSpec(RUN);
    const text = await Deno.readTextFile(setup.specFile);
    await Deno.writeTextFile(
      setup.specFile,
      text.replace("max_event_bytes: 1048576", `max_event_bytes: ${KAFKA_MAX_EVENT_BYTES}`),
    );
    const loaded = await loadSpec(setup.specFile, () => undefined);
    const spec = loaded.spec!;
    if (!spec) {
      await Deno.remove(setup.dir, { recursive: true });
      assert.fail(JSON.stringify(loaded.errors));
    }
    assert.equal(spec.spec.validation.max_event_bytes, KAFKA_MAX_EVENT_BYTES);
    const types = Object.fromEntries(
      [...spec.streams.values()].map((s) => [s.name, s.type]),
    ) as Record<Stream, avro.Type>;
    const group = RUN;
    const registry = createRegistry(SERVICES.schema_registry);
    const variantSubjects = Object.keys(VARIANTS).map((v) => `${RUN}.${v}`);
    const driver = neo4j.driver(SERVICES.neo4j);
    await using _topics = await createTopics([...Object.values(setup.topics), setup.dlqTopic]);
    try {
      // The stream schemas under their topics' subjects; each variant under a subject of its own.
      const ids: Record<string, number> = {};
      for (const s of spec.streams.values()) {
        ids[s.name] = await registry.register(
          valueSubject(setup.topics[s.name]),
          await Deno.readTextFile(s.schemaFile),
        );
      }
      const variantTypes: Record<string, avro.Type> = {};
      const variantIds: Record<string, number> = {};
      for (const [i, [name, edit]] of Object.entries(VARIANTS).entries()) {
        const base = JSON.parse(
          await Deno.readTextFile(
            spec.streams.get(name.split("-")[0] as Stream)?.schemaFile ??
              spec.streams.get("dde")!.schemaFile,
          ),
        ) as AvroSchema;
        const schema = edit(base);
        variantTypes[name] = avro.Type.forSchema(schema as avro.Schema);
        variantIds[name] = await registry.register(
          valueSubject(variantSubjects[i]),
          JSON.stringify(schema),
        );
      }
      const wire: Wire = {
        id: (s) => ids[s],
        variant: (v: Variant) => variantIds[v],
        body: (s, event) => new Uint8Array(types[s].toBuffer(filled(types[s], renamed(event)))),
        variantBody: (v, value) =>
          new Uint8Array(variantTypes[v].toBuffer(filled(variantTypes[v], value))),
      };
      const encode = (s: Stream, event: Event) => {
        const body = wire.body(s, event);
        const out = new Uint8Array(5 + body.length);
        new DataView(out.buffer).setUint32(1, ids[s], false);
        out.set(body, 5);
        return out;
      };

      // The corpus: wire cases, and the event cases Avro can carry (fits the stream's schema,
      // under the broker's message size). Each follows a valid event on its topic.
      const messages: Message[] = [];
      const valid: Event[] = [];
      const surround = (s: Stream) => {
        const event = renamed(builders[s]());
        valid.push(event);
        messages.push({
          name: "valid",
          topic: setup.topics[s],
          key: event.iteration_id as string,
          value: encode(s, event),
        });
      };
      let carried = 0;
      for (const c of CASES) {
        if (c.line instanceof Uint8Array || typeof c.line === "string") continue;
        const s = spec.streamOfEventType.get(String(c.line.event_type)) as Stream | undefined;
        const event = renamed(c.line);
        if (!s || filled(types[s], event) === undefined) continue;
        const value = encode(s, event);
        if (value.length > 900_000) continue;
        surround(s);
        messages.push({ name: c.name, topic: setup.topics[s], key: `poison:${c.name}`, value });
        if ("stored" in c.expect) valid.push(event);
        carried++;
      }
      for (const c of WIRE) {
        surround(c.stream);
        messages.push({
          name: c.name,
          topic: setup.topics[c.stream],
          key: `poison:${c.name}`,
          value: c.value(wire),
          expect: c.expect,
        });
      }
      for (const s of ["dde", "bdv", "acc"] as const) surround(s);
      const expected = new Map<string, Expect>();
      for (const m of messages) {
        if (m.name === "valid") continue;
        m.expect ??= CASES.find((c) => c.name === m.name)!.expect;
        expected.set(m.name, m.expect);
      }
      assert.ok(carried >= 30, `${carried} event cases carried by Avro`);
      assert.ok(
        [...expected.values()].filter((e) => "category" in e).length >= 40,
        "malformed cases on Kafka",
      );

      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      try {
        for (const m of messages) {
          await producer.send({
            topic: m.topic,
            acks: -1,
            messages: [{ key: m.key, value: m.value === null ? null : Buffer.from(m.value) }],
          });
        }
      } finally {
        await producer.disconnect();
      }

      const env = { ICS_GROUP_ID: group };
      const out = await ics(
        env,
        "run",
        "--spec",
        setup.specFile,
        "--target",
        "services",
        "--drain",
        "--state",
        join(setup.dir, "state"),
      );
      assert.match(out, new RegExp(`events read\\s+${messages.length} `));

      // The DLQ topic: one letter per malformed case, found by its original key, with category
      // and reason headers and the original bytes.
      const letters = await readAll(setup.dlqTopic);
      const malformed = [...expected].filter(([, e]) => "category" in e);
      assert.equal(letters.length, malformed.length, letters.map((l) => l.key).join(", "));
      for (const [name, e] of malformed) {
        assert.ok("category" in e);
        const letter = letters.find((l) => l.key === `poison:${name}`);
        assert.ok(letter, `${name} is not on the DLQ topic`);
        assert.equal(
          letter.headers["ics.category"],
          e.category,
          `${name}: ${letter.headers["ics.reason"]}`,
        );
        assert.match(letter.headers["ics.reason"], e.reason, name);
        const sent = messages.find((m) => m.name === name)!.value ?? new Uint8Array(0);
        assert.deepEqual(new Uint8Array(letter.value ?? []), sent, `${name}: original bytes`);
        assert.equal(
          letter.headers["ics.source.topic"],
          messages.find((m) => m.name === name)!.topic,
        );
      }

      // Neo4j holds exactly what the embedded target makes of the valid events alone.
      const local = join(setup.dir, "local.jsonl");
      await Deno.writeTextFile(local, valid.map((e) => JSON.stringify(e)).join("\n") + "\n");
      const p = await compile(spec, { input: local, stateDir: join(setup.dir, "local") });
      try {
        await run(p);
      } finally {
        await p.close();
      }
      const sqlite = openSqliteGraph(join(setup.dir, "local", "graph.db"));
      const neo = await openNeo4jGraph(neo4jSchema.parse({ type: "neo4j", uri: SERVICES.neo4j }));
      const comparable = (vs: Version[]) =>
        vs.map((
          v,
        ) => [v.kind, v.id, v.label, v.key, v.from, v.to, v.props, v.valid_from, v.valid_to])
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      try {
        for (const it of [BAD_IT, OK_IT]) {
          const want = comparable(await sqlite.query({ iteration_id: it }));
          assert.ok(want.length > 0, `${it} has a graph`);
          assert.deepEqual(comparable(await neo.query({ iteration_id: it })), want, it);
        }
      } finally {
        await sqlite.close();
        await neo.close();
      }
      const strays = await driver.executeQuery(
        "MATCH (n) WHERE n.iteration_id STARTS WITH $prefix AND NOT n.iteration_id IN $ids " +
          "RETURN count(n) AS n",
        { prefix: RUN, ids: [BAD_IT, OK_IT] },
      );
      assert.equal(Number(strays.records[0].get("n")), 0, "no node of a renamed poison iteration");

      // The unusual values, read back by parameter from the node versions themselves.
      for (const c of CASES) {
        if (!("stored" in c.expect) || !messages.some((m) => m.name === c.name)) continue;
        const { label, key, props } = c.expect.stored;
        const found = await driver.executeQuery(
          `MATCH (e:Entity)<-[:VERSION_OF]-(v:NodeVersion) WHERE e.iteration_id = $it
             AND e.label = $label AND e.key = $key AND v.superseded_at IS NULL
           RETURN v`,
          { it: OK_IT, label, key },
        );
        assert.equal(found.records.length, 1, `${c.name}: ${label} ${JSON.stringify(key)}`);
        const node = found.records[0].get("v").properties;
        for (const [name, value] of Object.entries(props)) {
          assert.equal(node[name], value, `${c.name}: property ${name}`);
        }
      }

      // Metric rows in Postgres: the valid events only.
      const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
      try {
        let rows = 0;
        for (const s of ["dde", "bdv", "acc"]) {
          rows += Number(
            (await sql.unsafe(`SELECT count(*) AS n FROM ${setup.pgSchema}.${s}_event_metrics`))[0]
              .n,
          );
        }
        assert.equal(rows, valid.length);
      } finally {
        await sql.unsafe(`DROP SCHEMA IF EXISTS ${setup.pgSchema} CASCADE`).catch(() => {});
        await sql.end();
      }
    } finally {
      await deleteIterations(driver, [BAD_IT, OK_IT]).catch(() => {});
      await driver.close();
      await deleteRedisKeys(setup.redisPrefix).catch(() => {});
      await deleteSubjects([...Object.values(setup.topics), ...variantSubjects]).catch(() => {});
      await withAdmin((a) => a.deleteGroups([group])).catch(() => {});
      await Deno.remove(setup.dir, { recursive: true });
    }
  },
);
