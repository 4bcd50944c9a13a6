/**
 * `explicit_id`: two entities carry the same identifier (`bdv.contract_id == dde.contract_id`). The
 * strongest evidence there is, hence the default confidence of 1.0.
 * @module
 */
import { z } from "zod";
import type { Rule, RuleKind } from "./_types.ts";
import { confidence, fieldSide, ruleDescription, ruleId, textOf } from "./_similarity.ts";

const schema = z.strictObject({
  id: ruleId,
  kind: z.literal("explicit_id"),
  description: ruleDescription,
  left: fieldSide("left"),
  right: fieldSide("right"),
  case_sensitive: z.boolean().default(true).describe(
    "Compare the identifiers case-sensitively (default true)",
  ),
  confidence: confidence(1),
}).describe("Link two entities whose identifier properties are equal after trimming");

export type ExplicitIdConfig = z.infer<typeof schema>;

function create(config: ExplicitIdConfig): Rule {
  const { left, right } = config;
  const norm = (v: string) => config.case_sensitive ? v : v.toLowerCase();
  return {
    id: config.id,
    kind: "explicit_id",
    description: config.description,
    left: left.entity,
    right: right.entity,
    confidence: config.confidence,
    fields: { left: [left.field], right: [right.field] },
    keys(side, entity) {
      const value = textOf(entity.props[config[side].field]);
      return value === undefined ? [] : [norm(value)];
    },
    evaluate(l, r) {
      const a = textOf(l.props[left.field]);
      const b = textOf(r.props[right.field]);
      if (a === undefined || b === undefined) return null;
      const fired = norm(a) === norm(b);
      const verb = fired ? (a === b ? "equals" : "equals, ignoring case,") : "differs from";
      return {
        fired,
        score: fired ? config.confidence : 0,
        matched: { left: a, right: b },
        reason: `${JSON.stringify(a)} ${verb} ${JSON.stringify(b)}`,
      };
    },
  };
}

export const explicit_id: RuleKind<typeof schema> = { kind: "explicit_id", schema, create };
