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
   * Blocking keys an entity on one side is indexed under. Empty when the entity lacks the rule's
   * fields. Only candidates are evaluated, so these keys and the probes decide the cost of
   * matching.
   */
  keys(side: Side, entity: EntityView): string[];
  /**
   * Keys an entity on one side looks up in the other side's index (default: its {@link keys}). An
   * entity is evaluated against every entity of the other side indexed under one of its probes.
   * Exactness is the rule's promise: for every pair it fires on, the probes of each side meet a
   * key of the other (whichever arrives second finds the first, and either may change later).
   * Keys and probes depend on the entity alone, never on what else the index holds, so the pairs
   * evaluated do not depend on arrival order.
   */
  probes?(side: Side, entity: EntityView): string[];
  /** Evaluate a pair; null when the rule does not apply (a compared field is missing). */
  evaluate(left: EntityView, right: EntityView): Evaluation | null;
  /**
   * Property names the rule reads on each side (keys, probes and evaluate read no other property),
   * for compile-time checks, and so the engine re-evaluates an entity under the rule only when one
   * of them changed.
   */
  fields: { left: string[]; right: string[] };
  /** True when keys, probes or evaluate also read an entity's `first_seen` (time features). */
  readsFirstSeen?: boolean;
}

/** A rule kind: its config schema and how to compile a config into a {@link Rule}. */
export interface RuleKind<S extends z.ZodType = z.ZodType> {
  kind: string;
  schema: S;
  create(config: z.infer<S>): Rule;
}
