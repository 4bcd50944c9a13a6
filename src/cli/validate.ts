/** `ics validate`: check a spec and its rule files; print every error at once. */
import { relative } from "node:path";
import { load, SPEC } from "./_common.ts";
import { command } from "./_command.ts";
import { UserError } from "../core/errors.ts";

export const cli = command({
  name: "validate",
  summary: "check pipeline.yaml and its rule files, reporting every error at once",
  args: "[FILE]",
  about:
    `Validate a pipeline spec (FILE or --spec; default pipeline.yaml) and the rule files it names.
Every error is printed at once as "file:line:column  yaml.path  message".`,
  flags: SPEC,
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
  return 0;
}
