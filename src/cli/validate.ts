/** `ics validate`: check a spec and its rule files; print every error at once. */
import { parseArgs } from "node:util";
import { relative } from "node:path";
import { load } from "./_common.ts";

export const help = `Usage: ics validate [FILE]

Validate a pipeline spec (default pipeline.yaml) and the rule files it names. Every error is
printed at once as "file:line:column  yaml.path  message".

Exit codes: 0 valid, 1 invalid, 2 bad usage.`;

export async function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { spec: { type: "string" } },
  });
  const spec = await load(positionals[0] ?? values.spec);
  console.log(
    `${
      relative(Deno.cwd(), spec.file)
    }: valid (${spec.streams.size} streams, ${spec.entities.length} entities, ` +
      `${spec.relationships.length} relationships, ${spec.rules.length} rules, policy ${spec.policy})`,
  );
  return 0;
}
