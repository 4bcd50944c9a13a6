/**
 * Remove what a `bench/services.ts` run left behind when it was killed before its own cleanup
 * (SIGKILL, a lost terminal): its topics, consumer groups, registry subjects, Redis keys,
 * Postgres schema, Neo4j scratch labels, and the Neo4j iterations of the benchmark's two corpus
 * seeds (ids `it-2601-NNNN` and `it-2602-NNNN`, exactly).
 *
 *   deno run -A bench/_services_cleanup.ts RUN_ID     # the id the run printed at its start
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import neo4j from "neo4j-driver";
import { iterationId } from "./corpus.ts";
import {
  deleteGroups,
  deleteIterations,
  deleteRedisKeys,
  deleteSubjects,
  dropPgSchema,
  SERVICES,
} from "./_services_setup.ts";
import { dropPeer } from "./_services_unwind.ts";
import { loadSpec } from "../src/compiler/mod.ts";

export const SEEDS = [2601, 2602];

const run = Deno.args[0];
if (!run || !/^[a-z0-9]+$/.test(run)) {
  console.error("usage: deno run -A bench/_services_cleanup.ts RUN_ID");
  Deno.exit(2);
}
const suffix = `bench-${run}`;
const topics = ["dde", "bdv", "acc"].map((s) => `trimodal.events.${s}.${suffix}`);
const step = async (what: string, fn: () => Promise<unknown>) => {
  try {
    console.log(`${what}: ${JSON.stringify(await fn()) ?? "done"}`);
  } catch (error) {
    console.error(`${what}: ${(error as Error).message}`);
  }
};
const admin = new Kafka({ brokers: SERVICES.kafka, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const existing = new Set(await admin.listTopics());
const mine = [...topics, `trimodal.events.dlq.${suffix}`].filter((t) => existing.has(t));
await step("topics", () => admin.deleteTopics({ topics: mine }).then(() => mine));
await step("consumer groups", () => deleteGroups(admin, [suffix, `${suffix}-bare`]));
await admin.disconnect();
await step("registry subjects", () => deleteSubjects(topics));
await step("Redis keys", () => deleteRedisKeys(`bench:${run}:`));
await step("Postgres schema", () => dropPgSchema(`bench_${run}`));
const driver = neo4j.driver(SERVICES.neo4j);
const spec = (await loadSpec(new URL("../pipeline.yaml", import.meta.url).pathname)).spec!;
await step("Neo4j scratch labels", () => dropPeer(driver, run, spec));
const ids = SEEDS.flatMap((seed) =>
  Array.from({ length: 9999 }, (_, i) => iterationId(seed, i + 1))
);
await step("Neo4j nodes of the corpus iterations", () => deleteIterations(driver, ids));
await driver.close();
