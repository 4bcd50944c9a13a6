/**
 * Private helpers of `bench/services.ts`: where the services are, the run's private copy of the
 * spec (its own topics, Redis prefix, Postgres schema and dead-letter topic), cached corpora,
 * consumer lag, and the removal of everything a run created.
 * @module
 */
import { join } from "node:path";
import type { Admin } from "kafkajs";
import type { Driver } from "neo4j-driver";
import { corpus, eventsPerIteration, iterationId, toJsonl } from "./corpus.ts";

export const ROOT = new URL("..", import.meta.url).pathname;

export const SERVICES = {
  kafka: (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(","),
  registry: Deno.env.get("SCHEMA_REGISTRY_URL") ?? "http://127.0.0.1:8081/apis/ccompat/v7",
  redis: Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379",
  neo4j: Deno.env.get("NEO4J_URI") ?? "bolt://127.0.0.1:7687",
  postgres: Deno.env.get("POSTGRES_URL") ?? "postgres://postgres@127.0.0.1:5432/test",
};

export interface BenchSetup {
  run: string;
  dir: string;
  specFile: string;
  /** Stream → topic. */
  topics: Record<string, string>;
  dlqTopic: string;
  group: string;
  redisPrefix: string;
  pgSchema: string;
}

/** A private copy of the spec whose services target uses this run's own names everywhere. */
export async function privateSpec(run: string): Promise<BenchSetup> {
  const dir = await Deno.makeTempDir({ prefix: "ics-bench-services-" });
  for (const name of ["pipeline.yaml", "rules", "schemas"]) {
    await copy(join(ROOT, name), join(dir, name));
  }
  const specFile = join(dir, "pipeline.yaml");
  const suffix = `bench-${run}`;
  const dlqTopic = `trimodal.events.dlq.${suffix}`;
  const redisPrefix = `bench:${run}:`;
  const pgSchema = `bench_${run}`;
  const original = await Deno.readTextFile(specFile);
  const replace = (text: string, from: string | RegExp, to: string) => {
    const out = text.replace(from, to);
    if (out === text) throw new Error(`pipeline.yaml changed: cannot rewrite ${from}`);
    return out;
  };
  let text = original.replaceAll(/topic: (trimodal\.events\.\w+)/g, `topic: $1.${suffix}`);
  text = replace(
    text,
    `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}" }`,
    `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}", key_prefix: "${redisPrefix}" }`,
  );
  text = replace(
    text,
    `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}" }`,
    `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}", schema: ${pgSchema} }`,
  );
  text = replace(
    text,
    `      type: kafka\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
    `      type: kafka\n      topic: ${dlqTopic}\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
  );
  await Deno.writeTextFile(specFile, text);
  const topics = Object.fromEntries(
    ["dde", "bdv", "acc"].map((s) => [s, `trimodal.events.${s}.${suffix}`]),
  );
  for (const t of Object.values(topics)) {
    if (!text.includes(`topic: ${t}`)) throw new Error(`pipeline.yaml changed: no topic ${t}`);
  }
  return { run, dir, specFile, topics, dlqTopic, group: suffix, redisPrefix, pgSchema };
}

async function copy(from: string, to: string): Promise<void> {
  if ((await Deno.stat(from)).isDirectory) {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) await copy(join(from, e.name), join(to, e.name));
  } else {
    await Deno.copyFile(from, to);
  }
}

export interface Corpus {
  file: string;
  /** One JSON event per line, without the line end. */
  lines: Uint8Array[];
  /** The iteration ids of the corpus, exactly (for cleaning Neo4j). */
  iterations: string[];
}

/** Exactly `events` generated events of `seed`, cached in `.cache/bench/`. */
export async function corpusOf(seed: number, events: number): Promise<Corpus> {
  const cache = join(ROOT, ".cache/bench");
  await Deno.mkdir(cache, { recursive: true });
  const file = join(cache, `services-s${seed}-${events}.jsonl`);
  if (!await Deno.stat(file).then(() => true, () => false)) {
    const iterations = Math.ceil((events / eventsPerIteration()) * 1.5) + 2;
    using f = await Deno.open(`${file}.tmp`, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let chunk = "", n = 0;
    for (const e of corpus({ iterations, seed })) {
      if (n++ >= events) break;
      chunk += toJsonl(e);
      if (chunk.length > 1 << 20) await f.write(enc.encode(chunk)), chunk = "";
    }
    if (n < events) throw new Error(`corpus of seed ${seed} has fewer than ${events} events`);
    await f.write(enc.encode(chunk));
    await Deno.rename(`${file}.tmp`, file);
  }
  const bytes = await Deno.readFile(file);
  const lines: Uint8Array[] = [];
  for (let start = 0; start < bytes.length;) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    if (end > start) lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  // Iterations are generated one after another: ids 1..N of the last line's iteration.
  const last = JSON.parse(new TextDecoder().decode(lines[lines.length - 1])).iteration_id;
  const prefix = iterationId(seed, 1).slice(0, -4);
  const count = Number(String(last).slice(prefix.length));
  if (!String(last).startsWith(prefix) || !(count > 0)) throw new Error(`unexpected id ${last}`);
  const iterations = Array.from({ length: count }, (_, i) => iterationId(seed, i + 1));
  return { file, lines, iterations };
}

/** Records of the topics not yet committed by the group (all of them when it has no offsets). */
export async function lag(admin: Admin, group: string, topics: string[]): Promise<number> {
  const committed = new Map<string, bigint>();
  for (const t of await admin.fetchOffsets({ groupId: group, topics })) {
    for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
  }
  let behind = 0n;
  for (const topic of topics) {
    for (const w of await admin.fetchTopicOffsets(topic)) {
      const c = committed.get(`${topic}/${w.partition}`) ?? -1n;
      const from = c >= 0n ? c : BigInt(w.low);
      if (BigInt(w.high) > from) behind += BigInt(w.high) - from;
    }
  }
  return Number(behind);
}

/**
 * Delete the consumer groups that exist of `groups`. A group is refused while it has members, and
 * a killed member stays one until its session times out (30 s by default): retried until then.
 */
export async function deleteGroups(
  admin: Admin,
  groups: string[],
  timeoutMs = 45_000,
): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  const deleted: string[] = [];
  for (;;) {
    const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    const left = groups.filter((g) => existing.has(g));
    if (!left.length) return deleted;
    try {
      await admin.deleteGroups(left);
      return [...deleted, ...left];
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Delete the iterations' graph (identity nodes and their versions), in transactions. */
export async function deleteIterations(driver: Driver, ids: string[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < ids.length; i += 2000) {
    const session = driver.session();
    try {
      const r = await session.run(
        `MATCH (e:Entity) WHERE e.iteration_id IN $ids
         CALL (e) {
           OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(e)
           DETACH DELETE v, e
         } IN TRANSACTIONS OF 2000 ROWS
         RETURN count(*) AS n`,
        { ids: ids.slice(i, i + 2000) },
      );
      deleted += Number(r.records[0]?.get("n") ?? 0);
    } finally {
      await session.close();
    }
  }
  return deleted;
}

/** Remove the registry subjects of the topics (soft, then permanent delete). */
export async function deleteSubjects(topics: string[]): Promise<void> {
  for (const topic of topics) {
    const url = `${SERVICES.registry}/subjects/${encodeURIComponent(`${topic}-value`)}`;
    for (const u of [url, `${url}?permanent=true`]) {
      await fetch(u, { method: "DELETE" }).then((r) => r.body?.cancel()).catch(() => {});
    }
  }
}

/** UNLINK every Redis key under the prefix; returns how many. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(SERVICES.redis, { lazyConnect: true });
  await redis.connect();
  let n = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 10_000);
      cursor = next;
      if (keys.length) n += await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return n;
}

export async function dropPgSchema(schema: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(SERVICES.postgres, { onnotice: () => {}, max: 1 });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** p-th percentile (0–100) of numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
