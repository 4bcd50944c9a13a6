/**
 * `tag`: a tag on one entity names another entity through a pattern, e.g. the bdv tag
 * `@contract:UserAPI:v1` names the dde contract whose `contract_name` is `UserAPI` and whose
 * `contract_version` is `v1`. The pattern's placeholders are the right side's property names.
 *
 * A placeholder matches one or more characters other than whitespace and the separator characters of
 * the pattern's literal text (for `@contract:{name}:{version}`: anything but `@` and `:`), so a
 * placeholder never swallows the next part of the tag; where a placeholder could end in several
 * places, it ends at the first (see `_tag_pattern.ts`, which also bounds the tag length).
 * @module
 */
import { z } from "zod";
import type { Rule, RuleKind } from "./_types.ts";
import {
  confidence,
  entityLabel,
  propertyName,
  ruleDescription,
  ruleId,
  textOf,
} from "./_similarity.ts";
import { compilePattern, MAX_TAG_LENGTH, parsePattern, patternProblems } from "./_tag_pattern.ts";

const schema = z.strictObject({
  id: ruleId,
  kind: z.literal("tag"),
  description: ruleDescription,
  left: z.strictObject({
    entity: entityLabel,
    field: propertyName.describe("Property holding the tags (a list of strings, or one string)"),
    pattern: z.string().min(1).describe(
      "Tag pattern; each {placeholder} names a property of the right entity, " +
        "e.g. @contract:{contract_name}:{contract_version}",
    ),
  }).describe("The tagged side"),
  right: z.strictObject({
    entity: entityLabel,
    fields: z.array(propertyName).optional().describe(
      "The properties compared: the pattern's placeholder names (derived when omitted)",
    ),
  }).describe("The side the tag names"),
  case_sensitive: z.boolean().default(false).describe(
    "Compare tag values case-sensitively (default false)",
  ),
  confidence: confidence(0.8),
}).superRefine((config, ctx) => {
  for (const message of patternProblems(config.left.pattern)) {
    ctx.addIssue({ code: "custom", path: ["left", "pattern"], message });
  }
  const names = parsePattern(config.left.pattern).names;
  const fields = config.right.fields;
  if (fields && (fields.length !== names.length || fields.some((f) => !names.includes(f)))) {
    ctx.addIssue({
      code: "custom",
      path: ["right", "fields"],
      message: `fields must be the pattern's placeholders: ${names.join(", ")}`,
    });
  }
}).describe("Link a tagged entity to the entity its tag names");

export type TagConfig = z.infer<typeof schema>;

function create(config: TagConfig): Rule {
  const { match, names } = compilePattern(config.left.pattern, config.case_sensitive);
  const norm = (v: string) => config.case_sensitive ? v : v.toLowerCase();
  const tagsOf = (value: unknown): string[] | undefined =>
    typeof value === "string"
      ? [value.trim()]
      : Array.isArray(value)
      ? value.filter((t): t is string => typeof t === "string").map((t) => t.trim())
      : undefined;
  /** Placeholder values of every tag matching the pattern. */
  const parsed = (tags: string[]) =>
    tags.flatMap((tag) => {
      const values = match(tag);
      return values ? [{ tag, values }] : [];
    });
  const wanted = (props: Record<string, unknown>) => {
    const values = names.map((n) => textOf(props[n]));
    return values.every((v) => v !== undefined) ? values as string[] : undefined;
  };
  const named = (values: string[]) => names.map((n, i) => `${n} "${values[i]}"`).join(", ");
  return {
    id: config.id,
    kind: "tag",
    description: config.description,
    left: config.left.entity,
    right: config.right.entity,
    confidence: config.confidence,
    fields: { left: [config.left.field], right: [...names] },
    keys(side, entity) {
      if (side === "right") {
        const values = wanted(entity.props);
        return values ? [values.map(norm).join("\u0000")] : [];
      }
      const tags = parsed(tagsOf(entity.props[config.left.field]) ?? []);
      return [...new Set(tags.map((t) => t.values.map(norm).join("\u0000")))];
    },
    evaluate(l, r) {
      const tags = tagsOf(l.props[config.left.field]);
      const values = wanted(r.props);
      if (tags === undefined || values === undefined) return null;
      const right = Object.fromEntries(names.map((n, i) => [n, values[i]]));
      const agreeing = (v: string[]) => v.filter((x, i) => norm(x) === norm(values[i])).length;
      // The closest tag: all placeholders agreeing fires; otherwise it explains the near miss.
      const best = parsed(tags).sort((a, b) => agreeing(b.values) - agreeing(a.values))[0];
      if (best === undefined) {
        return {
          fired: false,
          score: 0,
          matched: { left: tags, right },
          reason: `no tag matches the pattern "${config.left.pattern}"` +
            (tags.some((t) => t.length > MAX_TAG_LENGTH)
              ? ` (tags longer than ${MAX_TAG_LENGTH} characters match none)`
              : ""),
        };
      }
      const fired = agreeing(best.values) === names.length;
      const wrong = names.flatMap((n, i) =>
        norm(best.values[i]) === norm(values[i])
          ? []
          : [`${n} "${best.values[i]}", not "${values[i]}"`]
      );
      return {
        fired,
        score: fired ? config.confidence : 0,
        matched: { left: best.tag, right },
        reason: `tag ${JSON.stringify(best.tag)} names ${
          fired ? named(best.values) : wrong.join(", ")
        }`,
      };
    },
  };
}

export const tag: RuleKind<typeof schema> = { kind: "tag", schema, create };
