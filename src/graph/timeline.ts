/**
 * Bi-temporal bookkeeping for one fact. A fact's history in valid time is derived from what was
 * observed about it: observations are folded in valid-time order (later non-null values win), and
 * adjacent periods with equal properties merge. Comparing the derived periods with the versions
 * currently believed gives the change: versions no longer right are closed (superseded_at), new
 * ones opened. Late and out-of-order observations therefore need no special case, and replaying
 * an observation already reflected changes nothing.
 * @module
 */
import { stableStringify } from "../core/hash.ts";
import type { FactKind, GraphChanges, Observation, Version } from "../core/types.ts";

export type { Observation };

export interface Period {
  valid_from: number;
  valid_to: number | null;
  props: Record<string, unknown>;
  /** The observations folded into this period (valid time in it), in arrival order. */
  observations?: Observation[];
}

/**
 * Fold observations into consecutive valid-time periods, each with the observations it was made
 * of. Stable for equal times (arrival order).
 */
export function fold(observations: readonly Observation[]): Period[] {
  const sorted = observations.map((o, i) => [o, i] as const)
    .sort((a, b) => a[0].time - b[0].time || a[1] - b[1])
    .map(([o]) => o);
  const periods: (Period & { text: string; observations: Observation[] })[] = [];
  let state: Record<string, unknown> = {};
  for (const o of sorted) {
    state = { ...state, ...o.props };
    const text = stableStringify(state);
    const last = periods.at(-1);
    if (last && last.valid_from === o.time) {
      Object.assign(last, { props: state, text });
      last.observations.push(o);
      const before = periods.at(-2);
      if (before && before.text === text) {
        periods.pop();
        before.observations.push(...last.observations);
      }
    } else if (!last || last.text !== text) {
      periods.push({ valid_from: o.time, valid_to: null, props: state, text, observations: [o] });
    } else {
      last.observations.push(o); // changes nothing: folded into the period it falls in
    }
  }
  for (let i = 0; i + 1 < periods.length; i++) periods[i].valid_to = periods[i + 1].valid_from;
  return periods.map(({ valid_from, valid_to, props, observations }) => ({
    valid_from,
    valid_to,
    props,
    observations,
  }));
}

export interface FactHead {
  kind: FactKind;
  id: string;
  iteration_id: string;
  label: string;
  key: string[];
  from?: string;
  to?: string;
}

/**
 * The observations a node version stands for: its own, or, when it has none stored, itself (one
 * observation at `valid_from` with its props: what a version written without them means).
 */
export function observationsOf(v: Version): Observation[] {
  return v.observations ?? [{ time: v.valid_from, props: v.props }];
}

/**
 * A node version's observations as a store keeps them: none when they are only the version itself
 * (one observation at `valid_from` whose props are the version's: most versions), which
 * {@link observationsOf} gives back on reading; otherwise all of them. The stores' restart state
 * then costs bytes only where it says more than the version.
 */
export function storedObservations(v: Version): Observation[] | undefined {
  const o = v.observations;
  if (o?.length === 1 && o[0].time === v.valid_from && sameProps(o[0].props, v.props)) {
    return undefined;
  }
  return o;
}

function sameProps(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) {
    const x = a[name], y = b[name];
    if (x === y) continue;
    if (!Object.hasOwn(b, name) || typeof x !== "object" || typeof y !== "object") return false;
    if (x === null || y === null || stableStringify(x) !== stableStringify(y)) return false;
  }
  return true;
}

/** The reference a store finds a version by. */
export function versionRef(v: Version) {
  const { kind, version_id, id, label, from, to, valid_from, observed_at } = v;
  return { kind, version_id, id, label, from, to, valid_from, observed_at };
}

/**
 * Close the believed versions that differ from `periods` and open versions for the periods that
 * have none; returns the versions believed afterwards. Periods that carry observations (nodes)
 * give them to their versions: a new version is written with them, a kept one whose observations
 * grew is listed in `changes.observed`.
 */
export function reconcile(
  head: FactHead,
  believed: readonly Version[],
  periods: readonly Period[],
  now: number,
  changes: GraphChanges,
): Version[] {
  const wanted = new Map(periods.map((p) => [periodKey(p), p]));
  const kept: Version[] = [];
  for (const v of believed) {
    const k = periodKey(v);
    const p = wanted.get(k);
    if (p) {
      // A version stored without observations stands for one: itself (observationsOf).
      if (p.observations && p.observations.length !== observationsOf(v).length) {
        const grown = { ...v, observations: p.observations };
        (changes.observed ??= []).push({ ...versionRef(v), observations: p.observations });
        kept.push(grown);
      } else kept.push(v);
      wanted.delete(k);
    } else {
      changes.closed.push({ ...versionRef(v), at: now });
    }
  }
  for (const p of wanted.values()) {
    const v: Version = {
      ...head,
      // Unique: a fact is reconciled once per batch, periods differ in valid_from, and the
      // system time strictly increases per batch.
      version_id: `${head.id}@${p.valid_from}@${now}`,
      props: p.props,
      valid_from: p.valid_from,
      valid_to: p.valid_to,
      observed_at: now,
      superseded_at: null,
      ...(p.observations ? { observations: p.observations } : {}),
    };
    changes.opened.push(v);
    kept.push(v);
  }
  return kept.sort((a, b) => a.valid_from - b.valid_from);
}

/** Props text of believed versions, computed once per version (they are compared every batch). */
const propsText = new WeakMap<object, string>();

/** Canonical text of a props object (memoised per object). */
export function propsKey(props: Record<string, unknown>): string {
  let text = propsText.get(props);
  if (text === undefined) propsText.set(props, text = stableStringify(props));
  return text;
}

function periodKey(p: Period): string {
  return `${p.valid_from}\u0000${p.valid_to ?? ""}\u0000${propsKey(p.props)}`;
}
