import type { z } from "zod";

/** An entity as the correlation engine sees it: its latest known properties. */
export interface EntityView {
  /** Stable fact id of the node. */
  id: string;
  label: string;
  iteration_id: string;
  key: string[];
  /** Latest folded properties (natural key fields included, by property name). */
  props: Record<string, unknown>;
  /** Valid time of the first and the latest observation, epoch ms. */
  first_seen: number;
  last_seen: number;
}

export type Side = "left" | "right";

/** One rule's verdict on one pair of entities. */
export interface Evaluation {
  /** True when the rule links the pair (score at or above the rule's threshold). */
  fired: boolean;
  /** The rule's contribution to the link confidence when fired; what it would have been otherwise. */
  score: number;
  /** The values compared, by side. */
  matched: { left: unknown; right: unknown };
  /** Similarity, feature scores and the like: how the score was made. */
  detail?: Record<string, number>;
  /** One sentence for `explain`, e.g. "similarity 0.62 is below the threshold 0.85". */
  reason: string;
}

/** A compiled rule. Pure: no state, no I/O. */
export interface Rule {
  id: string;
  kind: string;
  description: string;
  /** Entity labels of the two sides. */
  left: string;
  right: string;
  confidence: number;
  /**
   * Blocking keys of an entity on one side. Two entities are candidates for this rule when a key of
   * the left one equals a key of the right one; only candidates are evaluated, so these keys decide
   * the cost of matching. Empty when the entity lacks the rule's fields.
   */
  keys(side: Side, entity: EntityView): string[];
  /** Evaluate a pair; null when the rule does not apply (a compared field is missing). */
  evaluate(left: EntityView, right: EntityView): Evaluation | null;
  /** Property names the rule reads on each side, for compile-time checks. */
  fields: { left: string[]; right: string[] };
}

/** A rule kind: its config schema and how to compile a config into a {@link Rule}. */
export interface RuleKind<S extends z.ZodType = z.ZodType> {
  kind: string;
  schema: S;
  create(config: z.infer<S>): Rule;
}
