/** `ics validate`: check a spec and its rule files; print every error at once. */
import { relative } from "node:path";
import { load, SPEC } from "./_common.ts";
import { command } from "./_command.ts";
import { boolean } from "./_flags.ts";
import { UserError } from "../core/errors.ts";
import type { CompiledSpec } from "../compiler/mod.ts";

export const cli = command({
  name: "validate",
  summary: "check pipeline.yaml and its rule files, reporting every error at once",
  args: "[FILE]",
  about:
    `Validate a pipeline spec (FILE or --spec; default pipeline.yaml) and the rule files it names.
Every error is printed at once as "file:line:column  yaml.path  message".`,
  flags: {
    ...SPEC,
    keys: boolean(
      "also print each event type's idempotency key fields and what it names (dedup.key)",
    ),
  },
  exits: "0 valid, 1 invalid, 2 bad usage.",
});

export async function main(args: string[]): Promise<number> {
  const { positionals, values } = cli.parse(args);
  if (positionals.length > 1) {
    throw new UserError(
      `validate takes one spec, not ${positionals.length} (see ics validate --help)`,
    );
  }
  const spec = await load(positionals[0] ?? values.spec);
  console.log(
    `${
      relative(Deno.cwd(), spec.file)
    }: valid (${spec.streams.size} streams, ${spec.entities.length} entities, ` +
      `${spec.relationships.length} relationships, ${spec.rules.length} rules, policy ${spec.policy})`,
  );
  if (values.keys) console.log(describeKeys(spec));
  return 0;
}

/** One line per event type: its idempotency key fields and the entities it can name. */
export function describeKeys(spec: CompiledSpec): string {
  const lines = ["", 'idempotency keys (sha256 of the fields joined by ":"):'];
  for (const stream of spec.streams.values()) {
    const configured = Object.hasOwn(spec.spec.dedup.key, stream.name);
    for (const type of stream.eventTypes) {
      const fields = stream.dedupKeys.get(type)!;
      const names = spec.entities
        .filter((e) => e.stream === stream.name && e.eventTypes.has(type))
        .map((e) => `${e.label} by ${e.keys.map((k) => k.join("+")).join(" | ")}`);
      const origin = configured && !sameKey(fields, derived(spec, stream.name, type))
        ? "  (dedup.key)"
        : "";
      lines.push(
        `  ${stream.name} ${type.padEnd(22)} ${fields.join(":")}${origin}` +
          (names.length
            ? `\n    names ${names.join("; ")}`
            : "\n    names nothing: keyed by its event_id"),
      );
    }
  }
  return lines.join("\n");
}

const sameKey = (a: string[], b: string[]) =>
  a.length === b.length && a.every((f, i) => f === b[i]);

/** What the derivation alone gives (to mark keys that `dedup.key` overrides). */
function derived(spec: CompiledSpec, stream: string, type: string): string[] {
  const about: string[] = [];
  const add = (keys: string[][]) => keys.flat().forEach((f) => about.includes(f) || about.push(f));
  for (const e of spec.entities) if (e.stream === stream && e.eventTypes.has(type)) add(e.keys);
  for (const r of spec.relationships) {
    if (r.stream === stream && r.eventTypes.has(type)) add(r.from.keys), add(r.to.keys);
  }
  return ["iteration_id", "event_type", ...(about.length ? about : ["event_id"]), "timestamp"];
}
