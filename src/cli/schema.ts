/**
 * `ics schema`: write the JSON Schemas editors use, from the same zod source as the validator.
 *
 * Editors check the file as written, before `${VAR}` interpolation: where the validator would take
 * the interpolated string, the editor schema also takes a string holding a reference (see
 * `_interpolated.ts`). The validator itself is unchanged: it checks the interpolated value.
 */
import { z } from "zod";
import { join } from "node:path";
import { pipelineSchema, ruleFileSchema } from "../compiler/mod.ts";
import { ruleTestFileSchema } from "../policy/schema.ts";
import { command } from "./_command.ts";
import { boolean, string } from "./_flags.ts";
import { interpolated, markPreprocessed } from "./_interpolated.ts";

export const cli = command({
  name: "schema",
  summary: "write the JSON Schemas for editors",
  about:
    `Write schemas/pipeline.schema.json, rules.schema.json and rule_tests.schema.json (generated; never
edit by hand).`,
  flags: {
    out: string("DIR", "folder to write to", { default: "schemas" }),
    check: boolean("write nothing; exit 1 when the files on disk are out of date"),
  },
  exits: "0 done (or up to date), 1 out of date, 2 bad usage.",
});

export function schemas(): Record<string, string> {
  const json = (s: z.ZodType, title: string) =>
    JSON.stringify(
      {
        title,
        ...interpolated(
          z.toJSONSchema(s, { io: "input", unrepresentable: "any", override: markPreprocessed }),
        ),
      },
      null,
      2,
    ) + "\n";
  return {
    "pipeline.schema.json": json(pipelineSchema, "ics pipeline spec"),
    "rules.schema.json": json(ruleFileSchema, "ics correlation rule file"),
    "rule_tests.schema.json": json(ruleTestFileSchema, "ics correlation rule tests"),
  };
}

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const out = values.out;
  let stale = 0;
  for (const [name, text] of Object.entries(schemas())) {
    const path = join(out, name);
    if (values.check) {
      const current = await Deno.readTextFile(path).catch(() => "");
      if (current !== text) console.error(`${path} is out of date: run deno task schema`), stale++;
    } else {
      await Deno.writeTextFile(path, text);
      console.log(`wrote ${path}`);
    }
  }
  return stale ? 1 : 0;
}
