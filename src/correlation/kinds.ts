/**
 * The registry of rule kinds. Explicit, no side-effect registration: a new kind is one file plus one
 * line here.
 * @module
 */
import { z } from "zod";
import type { Rule, RuleKind } from "./_types.ts";
import { explicit_id } from "./explicit_id.ts";
import { file_path } from "./file_path.ts";
import { heuristic } from "./heuristic.ts";
import { tag } from "./tag.ts";

export const ruleKinds = { explicit_id, file_path, tag, heuristic } satisfies Record<
  string,
  RuleKind
>;

/** One correlation rule's config, any kind; the spec embeds it. */
export const ruleSchema = z.discriminatedUnion("kind", [
  explicit_id.schema,
  file_path.schema,
  tag.schema,
  heuristic.schema,
]).describe("A correlation rule");

export type RuleConfig = z.infer<typeof ruleSchema>;

/** Compile a validated rule config into a {@link Rule}. */
export function createRule(config: RuleConfig): Rule {
  switch (config.kind) {
    case "explicit_id":
      return explicit_id.create(config);
    case "file_path":
      return file_path.create(config);
    case "tag":
      return tag.create(config);
    case "heuristic":
      return heuristic.create(config);
  }
}
