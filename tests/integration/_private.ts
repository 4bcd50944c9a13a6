/**
 * A private copy of the spec for a services test: its own stream and dead-letter topics, Redis key
 * prefix, Postgres schema and consumer group, so tests sharing the services never see each other.
 * And `ics`, run in process as src/cli/main.ts runs it.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "../_copy.ts";
import { capture } from "../../src/cli/_capture.ts";
import { SERVICES } from "./_services.ts";

export const root = new URL("../..", import.meta.url).pathname;

export interface PrivateSpec {
  dir: string;
  spec: string;
  /** `--spec <copy> --target services` */
  services: string[];
  group: string;
  streamTopics: Record<string, string>;
  dlqTopic: string;
  pgSchema: string;
  redisPrefix: string;
}

/** `name`: lower-case letters, digits and `_` (it names the Postgres schema too). */
export async function privateSpec(name: string): Promise<PrivateSpec> {
  const dir = await Deno.makeTempDir({ prefix: `ics-${name}-` });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
  const spec = join(dir, "pipeline.yaml");
  const dlqTopic = `trimodal.events.dlq.${name}`;
  const redisPrefix = `${name}:`;
  let text = await Deno.readTextFile(spec);
  text = text.replaceAll(/topic: (trimodal\.events\.\w+)/g, `topic: $1.${name}`)
    .replace(
      `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}" }`,
      `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}", key_prefix: "${redisPrefix}" }`,
    )
    .replace(
      `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}" }`,
      `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}", schema: ${name} }`,
    )
    .replace(
      `      type: kafka\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
      `      type: kafka\n      topic: ${dlqTopic}\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
    );
  // The consumer group in the spec itself: commands run in process, without environment.
  const group = `${name}-group`;
  text = text.replaceAll("${ICS_GROUP_ID:-ics}", group);
  assert.ok(
    text.includes(dlqTopic) && text.includes(redisPrefix) && text.includes(`schema: ${name}`) &&
      text.includes(`group_id: "${group}"`),
  );
  await Deno.writeTextFile(spec, text);
  const streamTopics = Object.fromEntries(
    ["dde", "bdv", "acc"].map((s) => [s, `trimodal.events.${s}.${name}`]),
  );
  return {
    dir,
    spec,
    services: ["--spec", spec, "--target", "services"],
    group,
    streamTopics,
    dlqTopic,
    pgSchema: name,
    redisPrefix,
  };
}

/** Remove the registry subjects `ics produce` registered for the private topics. */
export async function deleteSubjects(p: PrivateSpec): Promise<void> {
  for (const topic of Object.values(p.streamTopics)) {
    const url = `${SERVICES.schema_registry}/subjects/${encodeURIComponent(`${topic}-value`)}`;
    // A soft delete first: the registry deletes permanently only what is soft-deleted.
    for (const u of [url, `${url}?permanent=true`]) {
      await fetch(u, { method: "DELETE" }).then((r) => r.body?.cancel()).catch(() => {});
    }
  }
}

/**
 * `ics ...` in process, as src/cli/main.ts runs it (a command start costs a second or more). The
 * CLI is imported on first use: loading it while `_services.ts` probes the services (each with a
 * one-second timeout) could starve the probes.
 */
export const ics = async (...args: string[]) =>
  capture(await import("../../src/cli/main.ts"), ...args);

/** `ics ...`, requiring exit code 0; returns what it printed on stdout. */
export async function icsOk(...args: string[]): Promise<string> {
  const out = await ics(...args);
  assert.equal(out.code, 0, `ics ${args.join(" ")}\n${out.stderr}\n${out.stdout}`);
  return out.stdout;
}
