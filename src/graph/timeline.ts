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
import type { FactKind, GraphChanges, Version } from "../core/types.ts";

export interface Observation {
  time: number;
  props: Record<string, unknown>;
}

export interface Period {
  valid_from: number;
  valid_to: number | null;
  props: Record<string, unknown>;
}

/** Fold observations into consecutive valid-time periods. Stable for equal times (arrival order). */
export function fold(observations: readonly Observation[]): Period[] {
  const sorted = observations.map((o, i) => [o, i] as const)
    .sort((a, b) => a[0].time - b[0].time || a[1] - b[1])
    .map(([o]) => o);
  const periods: (Period & { text: string })[] = [];
  let state: Record<string, unknown> = {};
  for (const o of sorted) {
    state = { ...state, ...o.props };
    const text = stableStringify(state);
    const last = periods.at(-1);
    if (last && last.valid_from === o.time) {
      Object.assign(last, { props: state, text });
      const before = periods.at(-2);
      if (before && before.text === text) periods.pop();
    } else if (!last || last.text !== text) {
      periods.push({ valid_from: o.time, valid_to: null, props: state, text });
    }
  }
  for (let i = 0; i + 1 < periods.length; i++) periods[i].valid_to = periods[i + 1].valid_from;
  return periods.map(({ valid_from, valid_to, props }) => ({ valid_from, valid_to, props }));
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
 * Close the believed versions that differ from `periods` and open versions for the periods that
 * have none; returns the versions believed afterwards.
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
    if (wanted.has(k)) {
      kept.push(v);
      wanted.delete(k);
    } else {
      changes.closed.push({ kind: head.kind, version_id: v.version_id, at: now });
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
