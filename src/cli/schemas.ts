/** `ics schemas`: the local stream schemas against the schema registry. */
import type { CompiledSpec } from "../compiler/mod.ts";
import { UserError } from "../core/errors.ts";
import {
  createRegistry,
  evolutionProblem,
  type Registry,
  valueSubject,
} from "../schema_registry/mod.ts";
import { load } from "./_common.ts";
import { KAFKA, kafkaTarget } from "./_kafka.ts";
import { command } from "./_command.ts";

export const cli = command({
  name: "schemas",
  summary: "check local Avro schemas against the registry (FULL_TRANSITIVE compatibility)",
  args: "check|register",
  about: `  check      for each stream, whether its local .avsc keeps the event contract's rule (new
             fields optional with defaults, no removal or rename of a required field:
             FULL_TRANSITIVE) against every version registered under <topic>-value, whatever
             the subject is configured with, and whether the registry would accept it next.
             A subject that is not registered yet is reported as such and is not an error.
  register   register each stream's schema (subject compatibility set to FULL_TRANSITIVE
             first); prints the schema ids. "ics produce" does this too.`,
  flags: KAFKA,
  exits: "0 all compatible (or registered), 1 a schema is incompatible (or the spec invalid), " +
    "2 bad usage, 3 registry failure.",
});

export type SchemaStatus = "compatible" | "incompatible" | "not registered";

export interface SchemaCheck {
  stream: string;
  subject: string;
  status: SchemaStatus;
  /** The latest registered version, when there is one. */
  version?: number;
  /** Why it is incompatible. */
  reason?: string;
}

/**
 * Each stream's local schema against its subject: the contract's rule against every registered
 * version (checked here), and the registry's own verdict under the subject's configuration.
 */
export async function checkSchemas(
  registry: Registry,
  streams: { stream: string; subject: string; schema: string }[],
): Promise<SchemaCheck[]> {
  const out: SchemaCheck[] = [];
  for (const s of streams) {
    const latest = await registry.latest(s.subject);
    if (!latest) {
      out.push({ stream: s.stream, subject: s.subject, status: "not registered" });
      continue;
    }
    const r = await registry.checkCompatibility(s.subject, s.schema);
    const reason = evolutionProblem(s.schema, await registry.versions(s.subject)) ??
      (r.compatible ? undefined : "the registry rejects it under the subject's compatibility");
    out.push({
      stream: s.stream,
      subject: s.subject,
      status: reason ? "incompatible" : "compatible",
      version: latest.version,
      ...(reason ? { reason } : {}),
    });
  }
  return out;
}

/** Each stream's subject and local schema text (compact JSON). */
export async function localSchemas(spec: CompiledSpec, streamTopics: Record<string, string>) {
  return await Promise.all([...spec.streams.values()].map(async (s) => ({
    stream: s.name,
    subject: valueSubject(streamTopics[s.name]),
    schema: JSON.stringify(JSON.parse(await Deno.readTextFile(s.schemaFile))),
  })));
}

export async function main(args: string[]): Promise<number> {
  const { positionals, values } = cli.parse(args);
  const action = positionals[0];
  if ((action !== "check" && action !== "register") || positionals.length > 1) {
    throw new UserError(
      action
        ? `unknown action "${positionals.join(" ")}"; actions: check, register`
        : "missing action: check or register",
    );
  }
  const spec = await load(values.spec);
  const target = kafkaTarget(spec, values.target);
  if (!target.source.schema_registry) {
    throw new UserError(`the Kafka source of target "${target.name}" has no schema_registry`);
  }
  const registry = createRegistry(target.source.schema_registry);
  const schemas = await localSchemas(spec, target.streamTopics);
  if (action === "register") {
    for (const s of schemas) {
      const id = await registry.register(s.subject, s.schema);
      console.log(`  ${s.subject.padEnd(40)}id ${id}`);
    }
    return 0;
  }
  const checks = await checkSchemas(registry, schemas);
  for (const c of checks) {
    const detail = c.version === undefined ? "" : ` (latest version ${c.version})`;
    console.log(`  ${c.subject.padEnd(40)}${c.status}${detail}${c.reason ? `: ${c.reason}` : ""}`);
  }
  const bad = checks.filter((c) => c.status === "incompatible").length;
  if (bad) {
    console.error(
      `ics schemas: ${bad} schema${
        bad > 1 ? "s are" : " is"
      } not compatible with the registry (new fields need defaults; required fields stay)`,
    );
  }
  return bad ? 1 : 0;
}
