/**
 * The correlation engine: indexed, symmetric, incremental.
 *
 * Per iteration, every rule keeps two hash indexes (blocking key → entity ids), one per side. When
 * an entity is new or changed (its properties or its first sighting), it is re-indexed under its
 * keys and evaluated only against the entities of the other side indexed under one of its probes
 * (`Rule.probes`, by default its keys), so the cost per event depends on how many entities are
 * alike, not on the size of the iteration, and a link appears whichever side arrives first. Evidence is kept per pair and rule; a pair's link is the
 * combination of its evidence (`max` or `noisy_or`), written only at or above `min_confidence`.
 * @module
 */
import type { EntityView, Evaluation, Rule, Side } from "./_types.ts";
import type { RuleEvidence } from "../core/types.ts";

export type { EntityView, Evaluation, Rule };

export interface Policy {
  rules: Rule[];
  combine: "max" | "noisy_or";
  min_confidence: number;
  /** Hash of the rule set, stored on every link. */
  policy: string;
}

/** Correlation state of one iteration. */
export interface CorrelationIndex {
  /**
   * rule id + side → blocking key → entity ids: one id as itself, more as a set. Most blocking
   * keys name one entity, and a set of one costs ~170 bytes: a tenth of an iteration's state.
   */
  postings: Map<string, Map<string, string | Set<string>>>;
  /** entity id → rule id + side → the keys it is indexed under. */
  keysOf: Map<string, Map<string, string[]>>;
  /** pair id → rule id → evidence. */
  evidence: Map<string, Map<string, RuleEvidence>>;
  /** entity id → pair ids it takes part in. */
  pairsOf: Map<string, Set<string>>;
  /** entity id → rule id + side → what the rule read of it when last evaluated ({@link readOf}). */
  reads: Map<string, Map<string, string>>;
  /** entity id → its first sighting when last updated (a link's valid time starts there). */
  firstSeen: Map<string, number>;
}

export interface Link {
  /** The two entity ids, sorted. */
  a: string;
  b: string;
  confidence: number;
  rules: RuleEvidence[];
}

export function createIndex(): CorrelationIndex {
  return {
    postings: new Map(),
    keysOf: new Map(),
    evidence: new Map(),
    pairsOf: new Map(),
    reads: new Map(),
    firstSeen: new Map(),
  };
}

/** Order-free id of a pair (NUL never occurs in entity ids, which are JSON text). */
export function pairId(x: string, y: string): string {
  return x < y ? `${x}\u0000${y}` : `${y}\u0000${x}`;
}

export function splitPair(pair: string): [string, string] {
  const i = pair.indexOf("\u0000");
  return [pair.slice(0, i), pair.slice(i + 1)];
}

export interface Engine {
  /** Re-index a new or changed entity and re-evaluate its candidates; returns the pairs touched. */
  update(
    index: CorrelationIndex,
    entity: EntityView,
    get: (id: string) => EntityView | undefined,
  ): Set<string>;
  /** The link a pair deserves now, or null below `min_confidence` or without evidence. */
  link(index: CorrelationIndex, pair: string): Link | null;
  /** Every rule's verdict on a pair (for `explain`): fired, near miss, or not applicable. */
  explain(x: EntityView, y: EntityView): Explanation;
}

export interface Explanation {
  policy: string;
  combine: Policy["combine"];
  min_confidence: number;
  evaluations: { rule: Rule; evaluation: Evaluation | null; applicable: boolean }[];
  confidence: number;
  linked: boolean;
}

export function createEngine(policy: Policy): Engine {
  const byLabel = new Map<string, { rule: Rule; side: Side; slot: string }[]>();
  for (const rule of policy.rules) {
    for (const side of ["left", "right"] as const) {
      const list = byLabel.get(rule[side]) ?? [];
      list.push({ rule, side, slot: `${rule.id}\u0000${side}` });
      byLabel.set(rule[side], list);
    }
  }
  const combine = (scores: number[]) =>
    policy.combine === "max" ? Math.max(...scores) : 1 - scores.reduce((p, s) => p * (1 - s), 1);

  return {
    update(index, entity, get) {
      const touched = new Set<string>();
      let reads = index.reads.get(entity.id);
      if (!reads) index.reads.set(entity.id, reads = new Map());
      for (const { rule, side, slot } of byLabel.get(entity.label) ?? []) {
        // Rules are pure functions of what they read: when none of it changed, neither did the
        // entity's keys, probes or verdicts under this rule (a peer that changed since has
        // re-evaluated the pair itself), so its evidence stands as it is.
        const read = readOf(rule, side, entity);
        if (reads.get(slot) === read) continue;
        reads.set(slot, read);
        const other: Side = side === "left" ? "right" : "left";
        reindex(index, slot, entity.id, rule.keys(side, entity));
        // Drop this rule's evidence on the entity's pairs, then evaluate its candidates afresh.
        for (const pair of index.pairsOf.get(entity.id) ?? []) {
          if (index.evidence.get(pair)?.delete(rule.id)) touched.add(pair);
        }
        const postings = index.postings.get(`${rule.id}\u0000${other}`);
        const candidates = new Set<string>();
        const probes = rule.probes
          ? rule.probes(side, entity)
          : index.keysOf.get(entity.id)?.get(slot);
        for (const key of probes ?? []) {
          const ids = postings?.get(key);
          if (typeof ids === "string") {
            if (ids !== entity.id) candidates.add(ids);
          } else for (const id of ids ?? []) if (id !== entity.id) candidates.add(id);
        }
        for (const id of candidates) {
          const peer = get(id);
          if (!peer) continue;
          const ev = side === "left" ? rule.evaluate(entity, peer) : rule.evaluate(peer, entity);
          if (!ev?.fired) continue;
          const pair = pairId(entity.id, id);
          addEvidence(index, pair, entity.id, id, {
            rule: rule.id,
            kind: rule.kind,
            score: round(ev.score),
            matched: ev.matched,
            ...(ev.detail ? { detail: roundAll(ev.detail) } : {}),
          });
          touched.add(pair);
        }
      }
      // A link is valid from the later first sighting of its two entities: when this one's moved,
      // its links must be written again even if no rule reads the time.
      const first = index.firstSeen.get(entity.id);
      index.firstSeen.set(entity.id, entity.first_seen);
      if (first !== undefined && first !== entity.first_seen) {
        for (const pair of index.pairsOf.get(entity.id) ?? []) {
          if (index.evidence.get(pair)?.size) touched.add(pair);
        }
      }
      return touched;
    },

    link(index, pair) {
      const evidence = index.evidence.get(pair);
      if (!evidence || evidence.size === 0) return null;
      const rules = [...evidence.values()].sort((x, y) => x.rule.localeCompare(y.rule));
      const confidence = round(combine(rules.map((r) => r.score)));
      if (confidence < policy.min_confidence) return null;
      const [a, b] = splitPair(pair);
      return { a, b, confidence, rules };
    },

    explain(x, y) {
      const evaluations: Explanation["evaluations"] = [];
      const scores: number[] = [];
      for (const rule of policy.rules) {
        const [l, r] = rule.left === x.label && rule.right === y.label
          ? [x, y]
          : rule.left === y.label && rule.right === x.label
          ? [y, x]
          : [undefined, undefined];
        if (!l || !r) {
          evaluations.push({ rule, evaluation: null, applicable: false });
          continue;
        }
        const evaluation = rule.evaluate(l, r);
        evaluations.push({ rule, evaluation, applicable: evaluation !== null });
        if (evaluation?.fired) scores.push(round(evaluation.score));
      }
      const confidence = scores.length ? round(combine(scores)) : 0;
      return {
        policy: policy.policy,
        combine: policy.combine,
        min_confidence: policy.min_confidence,
        evaluations,
        confidence,
        linked: scores.length > 0 && confidence >= policy.min_confidence,
      };
    },
  };
}

/**
 * What a rule reads of an entity on one side, as text: the values of its fields (an absent field
 * is told apart from null) and, when the rule reads it, the first sighting.
 */
function readOf(rule: Rule, side: Side, entity: EntityView): string {
  let text = rule.readsFirstSeen ? String(entity.first_seen) : "";
  for (const field of rule.fields[side]) {
    const value = entity.props[field];
    text += value === undefined ? "\u0000" : `\u0000${JSON.stringify(value)}`;
  }
  return text;
}

function reindex(index: CorrelationIndex, slot: string, id: string, keys: string[]): void {
  let postings = index.postings.get(slot);
  if (!postings) index.postings.set(slot, postings = new Map());
  let mine = index.keysOf.get(id);
  if (!mine) index.keysOf.set(id, mine = new Map());
  const unique = [...new Set(keys)];
  const old = mine.get(slot);
  // Most updates change a status, not a name: the keys stay.
  if (old && old.length === unique.length && old.every((k, i) => k === unique[i])) return;
  for (const key of old ?? []) {
    const ids = postings.get(key);
    if (ids === id) postings.delete(key);
    else if (typeof ids === "object" && ids.delete(id) && ids.size === 0) postings.delete(key);
  }
  for (const key of unique) {
    const ids = postings.get(key);
    if (ids === undefined) postings.set(key, id);
    else if (typeof ids === "string") {
      if (ids !== id) postings.set(key, new Set([ids, id]));
    } else ids.add(id);
  }
  mine.set(slot, unique);
}

function addEvidence(index: CorrelationIndex, pair: string, x: string, y: string, e: RuleEvidence) {
  let evidence = index.evidence.get(pair);
  if (!evidence) index.evidence.set(pair, evidence = new Map());
  evidence.set(e.rule, e);
  for (const id of [x, y]) {
    let pairs = index.pairsOf.get(id);
    if (!pairs) index.pairsOf.set(id, pairs = new Set());
    pairs.add(pair);
  }
}

/** Six decimals: enough for confidences, and free of float noise between runs and stores. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function roundAll(detail: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, round(v)]));
}
