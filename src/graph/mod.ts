/**
 * The Unified Graph Model in memory: per iteration, the entities, structural relationships and
 * correlation links that are believed now, and the correlation indexes over them. `apply()` turns
 * a batch of observations into bi-temporal {@link GraphChanges} for the graph stores.
 *
 * State is kept for the most recently used iterations only. An iteration that is not in memory
 * is rebuilt from the graph store (`prepare()`), which also makes a restarted runner continue
 * exactly where the stored graph stands.
 * @module
 */
import type {
  EntityObservation,
  GraphChanges,
  LinkProps,
  RelationshipObservation,
  Version,
} from "../core/types.ts";
import type { GraphStore } from "../core/component.ts";
import {
  type CorrelationIndex,
  createIndex,
  type Engine,
  type EntityView,
  pairId,
  splitPair,
} from "../correlation/mod.ts";
import {
  fold,
  type Observation,
  observationsOf,
  propsKey,
  reconcile,
  storedObservations,
} from "./timeline.ts";

interface Fact {
  id: string;
  observations: Observation[];
  believed: Version[];
}

interface EntityFact extends Fact {
  view: EntityView;
  /** Text of the view's correlation-relevant state, to skip re-correlating unchanged entities. */
  signature: string;
}

/** A relationship holds from the first time any event asserted it: that is all it needs. */
interface RelationshipFact {
  id: string;
  type: string;
  from: string;
  to: string;
  first: number;
  believed: Version[];
}

interface IterationState {
  id: string;
  entities: Map<string, EntityFact>;
  relationships: Map<string, RelationshipFact>;
  links: Map<string, Version[]>;
  index: CorrelationIndex;
  /** Batches applied but not yet written: the state must not be evicted before they are. */
  inflight: number;
}

export interface ApplyResult {
  changes: GraphChanges;
  /** Link versions opened per contributing rule, and links retracted. */
  linksByRule: Map<string, number>;
  retracted: number;
  /** Iterations touched, to release with `done()` once the batch is written. */
  iterations: string[];
}

export interface GraphModel {
  /** Make sure the state of these iterations is in memory, loading it from the store if needed. */
  prepare(iterations: Iterable<string>): Promise<void>;
  apply(
    entities: EntityObservation[],
    relationships: RelationshipObservation[],
    now: number,
  ): ApplyResult;
  /** The batch that touched these iterations is written: they may be evicted again. */
  done(iterations: string[]): void;
  /**
   * Apply the current policy to iterations as stored: every link is re-evaluated; links the
   * policy drops are closed, rescored ones (or ones made by another policy) get a new version,
   * new ones are opened. Nothing is deleted: the old links stay queryable in system time.
   */
  recorrelate(iterations: string[], now: number): Promise<ApplyResult>;
  /** Iterations currently held in memory. */
  size(): number;
  /** The last system time used; a model that replaces this one starts after it. */
  clock(): number;
}

/**
 * Fact ids are JSON tuples led by the iteration: unambiguous whatever the key holds, readable in
 * any store, cheaper per event than a hash, and clustered by iteration in ordered indexes (the
 * writes of a batch touch few index pages).
 */
export function entityId(label: string, iteration: string, key: readonly string[]): string {
  return JSON.stringify([iteration, label, ...key]);
}

export function relationshipId(iteration: string, type: string, from: string, to: string): string {
  return JSON.stringify([iteration, type, from, to]);
}

export function linkId(iteration: string, a: string, b: string): string {
  return JSON.stringify([iteration, "CORRELATES", a, b]);
}

/**
 * The text that the id of every fact led by these parts starts with (`idPrefix(it, "Task")`: the
 * ids of the iteration's Task entities; `idPrefix(it)`: of all its facts). Fact ids are JSON arrays,
 * so the ids of a prefix are one range of an ordered index: from the prefix up to
 * {@link idPrefixEnd}. The graph stores read iterations and labels as such ranges.
 */
export function idPrefix(...parts: string[]): string {
  return JSON.stringify(parts).slice(0, -1) + ",";
}

/** The first text after every id starting with `prefix` (a prefix ends with ","; "-" follows it). */
export function idPrefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + "-";
}

export function createGraphModel(
  engine: Engine,
  policy: string,
  store: GraphStore,
  maxIterations: number,
  /** System time already used (by the model this one replaces): later batches go after it. */
  clock = 0,
): GraphModel {
  const states = new Map<string, IterationState>(); // insertion order = least recently used first
  let lastNow = clock; // system time strictly increases per batch: version ids rely on it

  const touch = (id: string): IterationState | undefined => {
    const s = states.get(id);
    if (s) states.delete(id), states.set(id, s);
    return s;
  };

  const evict = () => {
    for (const [id, s] of states) {
      if (states.size <= maxIterations) break;
      if (s.inflight === 0) states.delete(id);
    }
  };

  return {
    async prepare(iterations) {
      const missing = [...new Set(iterations)].filter((id) => !touch(id));
      if (missing.length === 0) return;
      const { versions } = await store.load(missing);
      for (const id of missing) states.set(id, emptyState(id));
      for (const v of versions) restore(states.get(v.iteration_id)!, v);
      for (const id of missing) {
        const s = states.get(id)!;
        for (const fact of s.entities.values()) {
          // The observations the believed versions were folded from, in valid-time order.
          fact.observations = fact.believed.flatMap(observationsOf);
        }
        reindexAll(s, engine);
      }
    },

    apply(entityObs, relObs, wallClock) {
      const now = lastNow = Math.max(wallClock, lastNow + 1);
      const changes: GraphChanges = { opened: [], closed: [], observed: [] };

      const result: ApplyResult = { changes, linksByRule: new Map(), retracted: 0, iterations: [] };
      const dirty = new Map<IterationState, Set<EntityFact>>();
      const state = (id: string) => {
        const s = touch(id) ?? (states.set(id, emptyState(id)), states.get(id)!);
        if (!dirty.has(s)) dirty.set(s, new Set()), s.inflight++, result.iterations.push(id);
        return s;
      };
      for (const o of entityObs) {
        const s = state(o.iteration_id);
        const id = entityId(o.label, o.iteration_id, o.key);
        let fact = s.entities.get(id);
        if (!fact) s.entities.set(id, fact = newEntity(id, o));
        // An observation already known (a replay after a restart) changes nothing.
        const sameTime = fact.observations.filter((x) => x.time === o.time);
        if (sameTime.length && sameTime.some((x) => propsKey(x.props) === propsKey(o.props))) {
          continue;
        }
        fact.observations.push({ time: o.time, props: o.props });
        dirty.get(s)!.add(fact);
      }
      const relsTouched = new Map<RelationshipFact, IterationState>();
      for (const o of relObs) {
        const s = state(o.iteration_id);
        const from = entityId(o.from.label, o.iteration_id, o.from.key);
        const to = entityId(o.to.label, o.iteration_id, o.to.key);
        const id = relationshipId(o.iteration_id, o.type, from, to);
        const fact = s.relationships.get(id);
        if (!fact) {
          const created = { id, type: o.type, from, to, first: o.time, believed: [] };
          s.relationships.set(id, created);
          relsTouched.set(created, s);
        } else if (o.time < fact.first) {
          fact.first = o.time;
          relsTouched.set(fact, s);
        }
      }

      for (const [s, facts] of dirty) {
        const pairs = new Set<string>();
        for (const fact of facts) {
          const head = {
            kind: "node" as const,
            id: fact.id,
            iteration_id: s.id,
            label: fact.view.label,
            key: fact.view.key,
          };
          // fold() gives each period fresh lists of its observations: the next batch, applied
          // before this one is written, never adds to what this batch's versions hold.
          fact.believed = reconcile(head, fact.believed, fold(fact.observations), now, changes);
          if (refreshView(fact)) {
            for (const p of engine.update(s.index, fact.view, (id) => s.entities.get(id)?.view)) {
              pairs.add(p);
            }
          }
        }
        for (const pair of pairs) relink(s, pair, engine, policy, now, result);
      }
      for (const [fact, s] of relsTouched) {
        const head = {
          kind: "relationship" as const,
          id: fact.id,
          iteration_id: s.id,
          label: fact.type,
          key: [],
          from: fact.from,
          to: fact.to,
        };
        const period = { valid_from: fact.first, valid_to: null, props: {} };
        fact.believed = reconcile(head, fact.believed, [period], now, changes);
      }
      evict();
      return result;
    },

    async recorrelate(iterations, wallClock) {
      const now = lastNow = Math.max(wallClock, lastNow + 1);
      const result: ApplyResult = {
        changes: { opened: [], closed: [], observed: [] },
        linksByRule: new Map(),
        retracted: 0,
        iterations: [],
      };
      // Start from the store, not from memory: state built under another policy is stale.
      for (const id of iterations) states.delete(id);
      await this.prepare(iterations);
      for (const id of iterations) {
        const s = states.get(id)!;
        const pairs = new Set(s.index.evidence.keys());
        for (const versions of s.links.values()) {
          pairs.add(pairId(versions[0].from!, versions[0].to!));
        }
        for (const pair of pairs) relink(s, pair, engine, policy, now, result);
      }
      evict();
      return result;
    },

    done(iterations) {
      for (const id of iterations) {
        const s = states.get(id);
        if (s) s.inflight--;
      }
      evict();
    },

    size: () => states.size,
    clock: () => lastNow,
  };
}

function emptyState(id: string): IterationState {
  return {
    id,
    entities: new Map(),
    relationships: new Map(),
    links: new Map(),
    index: createIndex(),
    inflight: 0,
  };
}

function newEntity(
  id: string,
  o: { label: string; iteration_id: string; key: string[]; time: number },
): EntityFact {
  return {
    id,
    observations: [],
    believed: [],
    signature: "",
    view: {
      id,
      label: o.label,
      iteration_id: o.iteration_id,
      key: o.key,
      props: {},
      first_seen: o.time,
      last_seen: o.time,
    },
  };
}

/** Update the entity's view from its believed versions; true when correlation must look again. */
function refreshView(fact: EntityFact): boolean {
  const first = fact.believed[0];
  const last = fact.believed.at(-1);
  if (!first || !last) return false;
  fact.view.props = last.props;
  fact.view.first_seen = first.valid_from;
  fact.view.last_seen = Math.max(...fact.observations.map((o) => o.time));
  const signature = `${first.valid_from}\u0000${propsKey(last.props)}`;
  if (signature === fact.signature) return false;
  fact.signature = signature;
  return true;
}

/** Bring a pair's link in line with its evidence: open, rescore (close + open) or retract. */
function relink(
  s: IterationState,
  pair: string,
  engine: Engine,
  policy: string,
  now: number,
  result: ApplyResult,
) {
  const link = engine.link(s.index, pair);
  const [a, b] = splitPair(pair);
  const id = linkId(s.id, a, b);
  const believed = s.links.get(id) ?? [];
  const periods = link
    ? [{
      valid_from: Math.max(s.entities.get(a)!.view.first_seen, s.entities.get(b)!.view.first_seen),
      valid_to: null,
      props: { confidence: link.confidence, rules: link.rules, policy } satisfies LinkProps,
    }]
    : [];
  const opened = result.changes.opened.length;
  const head = {
    kind: "link" as const,
    id,
    iteration_id: s.id,
    label: "CORRELATES",
    key: [],
    from: a,
    to: b,
  };
  const now_believed = reconcile(head, believed, periods, now, result.changes);
  if (now_believed.length) s.links.set(id, now_believed);
  else s.links.delete(id);
  if (result.changes.opened.length > opened && link) {
    for (const r of link.rules) {
      result.linksByRule.set(r.rule, (result.linksByRule.get(r.rule) ?? 0) + 1);
    }
  } else if (!link && believed.length) {
    result.retracted++;
  }
}

/** Rebuild in-memory state from a stored version (a node's observations are set after this). */
function restore(s: IterationState, v: Version) {
  if (v.kind === "node") {
    let fact = s.entities.get(v.id);
    if (!fact) s.entities.set(v.id, fact = newEntity(v.id, { ...v, time: v.valid_from }));
    fact.believed.push(v);
    fact.believed.sort((x, y) => x.valid_from - y.valid_from);
  } else if (v.kind === "relationship") {
    const fact = s.relationships.get(v.id);
    if (fact) {
      fact.first = Math.min(fact.first, v.valid_from);
      fact.believed.push(v);
    } else {
      s.relationships.set(v.id, {
        id: v.id,
        type: v.label,
        from: v.from!,
        to: v.to!,
        first: v.valid_from,
        believed: [v],
      });
    }
  } else {
    s.links.set(v.id, [...(s.links.get(v.id) ?? []), v]);
  }
}

/** After a reload, index every entity again so new arrivals find their peers (no changes emitted). */
function reindexAll(s: IterationState, engine: Engine) {
  for (const fact of s.entities.values()) {
    if (refreshView(fact)) engine.update(s.index, fact.view, (id) => s.entities.get(id)?.view);
  }
}

/** Entity views (as the correlation engine saw them) of the node versions a query returns. */
export function entityViews(versions: Version[]): Map<string, EntityView> {
  const out = new Map<string, EntityView>();
  for (const v of [...versions].sort((a, b) => a.valid_from - b.valid_from)) {
    if (v.kind !== "node") continue;
    const seen = out.get(v.id);
    if (seen) {
      seen.props = v.props;
      seen.last_seen = v.valid_from;
    } else {
      out.set(v.id, {
        id: v.id,
        label: v.label,
        iteration_id: v.iteration_id,
        key: v.key,
        props: v.props,
        first_seen: v.valid_from,
        last_seen: v.valid_from,
      });
    }
  }
  return out;
}

/** A link's endpoint, as the read commands and the policy tools show it. */
export type Endpoint = { label: string; iteration_id: string; key: string[] };

/**
 * A stored link with its endpoints resolved from `nodes` (an unknown id shows as `?`). Links are
 * stored undirected; this shows one in the direction of its first rule (left → right).
 */
export function describeLink(
  link: Version,
  nodes: Map<string, Endpoint>,
  leftOf: Map<string, string>,
): { from: Endpoint; to: Endpoint } & Pick<LinkProps, "confidence" | "rules" | "policy"> {
  const ref = (id: string): Endpoint => {
    const n = nodes.get(id);
    return n
      ? { label: n.label, iteration_id: n.iteration_id, key: n.key }
      : { label: "?", iteration_id: "?", key: [id] };
  };
  const p = link.props as LinkProps;
  let [from, to] = [ref(link.from!), ref(link.to!)];
  const left = leftOf.get(p.rules[0]?.rule);
  if (left && from.label !== left && to.label === left) [from, to] = [to, from];
  return { from, to, confidence: p.confidence, rules: p.rules, policy: p.policy };
}

export { observationsOf, pairId, storedObservations };
