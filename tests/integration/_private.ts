/**
 * A private copy of the spec for a services test: its own stream and dead-letter topics, Redis key
 * prefix, Postgres schema and consumer group, so tests sharing the services never see each other.
 * And `ics`, run as a user runs it, bounded by a timeout.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "../_copy.ts";

export const root = new URL("../..", import.meta.url).pathname;

export interface PrivateSpec {
  dir: string;
  spec: string;
  /** `--spec <copy> --target services` */
  services: string[];
  /** Environment of the services target's commands (the consumer group). */
  env: Record<string, string>;
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
  assert.ok(
    text.includes(dlqTopic) && text.includes(redisPrefix) && text.includes(`schema: ${name}`),
  );
  await Deno.writeTextFile(spec, text);
  const streamTopics = Object.fromEntries(
    ["dde", "bdv", "acc"].map((s) => [s, `trimodal.events.${s}.${name}`]),
  );
  const group = `${name}-group`;
  return {
    dir,
    spec,
    services: ["--spec", spec, "--target", "services"],
    env: { ICS_GROUP_ID: group },
    group,
    streamTopics,
    dlqTopic,
    pgSchema: name,
    redisPrefix,
  };
}

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `ics`; a hung command fails the test instead of hanging it. */
export async function ics(env: Record<string, string>, ...args: string[]): Promise<Output> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}src/cli/main.ts`, ...args],
    cwd: root,
    env,
    signal: AbortSignal.timeout(180_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Run `ics` and require exit code 0; returns stdout. */
export async function icsOk(env: Record<string, string>, ...args: string[]): Promise<string> {
  const out = await ics(env, ...args);
  assert.equal(out.code, 0, `ics ${args.join(" ")}\n${out.stderr}\n${out.stdout}`);
  return out.stdout;
}
