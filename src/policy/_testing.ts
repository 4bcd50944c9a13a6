/**
 * Test helpers: a copy of the shipped spec (pipeline.yaml, rules/*.yaml, Avro schemas) in a
 * temporary folder, with its rule files edited, to compare or test another policy.
 * @module
 */
import { join } from "node:path";
import { loadSpec } from "../compiler/mod.ts";
import type { CompiledSpec } from "../compiler/mod.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;

/** Copy the spec to a temporary folder; `edit` may rewrite each rule file (by file name). */
export async function copySpec(
  edit: (file: string, text: string) => string = (_, t) => t,
): Promise<{ dir: string; file: string; spec: CompiledSpec; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "ics-policy-test-" });
  await Deno.mkdir(join(dir, "rules"));
  await Deno.mkdir(join(dir, "schemas", "avro"), { recursive: true });
  await Deno.copyFile(join(ROOT, "pipeline.yaml"), join(dir, "pipeline.yaml"));
  for await (const e of Deno.readDir(join(ROOT, "schemas", "avro"))) {
    await Deno.copyFile(
      join(ROOT, "schemas", "avro", e.name),
      join(dir, "schemas", "avro", e.name),
    );
  }
  for await (const e of Deno.readDir(join(ROOT, "rules"))) {
    if (!e.isFile || !e.name.endsWith(".yaml")) continue;
    const text = await Deno.readTextFile(join(ROOT, "rules", e.name));
    await Deno.writeTextFile(join(dir, "rules", e.name), edit(e.name, text));
  }
  const file = join(dir, "pipeline.yaml");
  const { spec, errors } = await loadSpec(file);
  if (!spec) throw new Error(`the edited spec is invalid: ${JSON.stringify(errors)}`);
  return { dir, file, spec, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** Edit one setting of one rule in a rule file's text (fails loudly when it is not there). */
export function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`"${from}" is not in the rule file`);
  return text.replace(from, to);
}
