/**
 * The properties, checked on what a run left: one assessment per run gives every property's
 * violations and the tallies of the corpus-level measurement.
 *
 * A planted entity is found in the graph by label and by a value that identifies it (a key value
 * or a property of one of its versions, paths normalised): the checks do not depend on how the
 * runtime spells keys. A family's rule is recognised by its evidence on the link (`rules`): its
 * kind and its score (explicit_id 1.0, file_path 0.9 exact or 0.7 × similarity 1 fuzzy, tag 0.8,
 * heuristic above 0 and at most 0.5); with `combine: noisy_or` other rules may add to the link's
 * confidence, which must then be at least the family's score.
 * @module
 */
import type { RuleEvidence, Version } from "../../src/core/types.ts";
import type { Observation } from "./_observe.ts";
import type { Corpus } from "./_render.ts";
import type { Family, Pair, Ref } from "./_plants.ts";
import { normPath } from "./_event.ts";

export const PROPERTIES = {
  dead_letters: "no contract-valid event is dead-lettered",
  dedup: "exactly the re-sends are dropped as duplicates, each one",
  planted: "every planted pair is linked by its family's rule, with its confidence",
  near_misses: "no near miss is linked",
  precision: "every link at or above 0.6 joins a planted pair",
} as const;
export type Property = keyof typeof PROPERTIES;

const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
export const FAMILY_EVIDENCE: Record<Family, (r: RuleEvidence) => boolean> = {
  explicit_id: (r) => r.kind === "explicit_id" && near(r.score, 1),
  file_path_exact: (r) => r.kind === "file_path" && near(r.score, 0.9),
  file_path_fuzzy: (r) => r.kind === "file_path" && near(r.score, 0.7),
  tag: (r) => r.kind === "tag" && near(r.score, 0.8),
  heuristic: (r) => r.kind === "heuristic" && r.score > 0 && r.score <= 0.5 + 1e-9,
};
const FAMILY_SCORE: Record<Family, number> = {
  explicit_id: 1,
  file_path_exact: 0.9,
  file_path_fuzzy: 0.7,
  tag: 0.8,
  heuristic: 0,
};

interface LinkView {
  a: string;
  b: string;
  confidence: number;
  rules: RuleEvidence[];
}

export interface Tally {
  events: number;
  /** `family shape` → planted, found. */
  planted: Record<string, { planted: number; found: number }>;
  /** Links at or above 0.6: joining a planted pair, or not. */
  strong: { planted: number; unplanned: number };
  misses: { planted: number; linked: number };
  resends: { injected: number; dropped: number; counted: number; distinctDropped: number };
  dead: Record<string, number>;
  sameKey: number;
  collisions?: number;
}

export interface Assessment {
  violations: Record<Property, string[]>;
  tally: Tally;
}

const pairKey = (a: string, b: string) => a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
const show = (r: Ref) => `${r.label} ${JSON.stringify(r.value)}`;

export function assess(corpus: Corpus, obs: Observation): Assessment {
  const v: Record<Property, string[]> = {
    dead_letters: [],
    dedup: [],
    planted: [],
    near_misses: [],
    precision: [],
  };
  const tally: Tally = {
    events: corpus.lines.length,
    planted: {},
    strong: { planted: 0, unplanned: 0 },
    misses: { planted: corpus.misses.length, linked: 0 },
    resends: {
      injected: corpus.resends.length,
      dropped: 0,
      counted: obs.dropped,
      distinctDropped: 0,
    },
    dead: {},
    sameKey: corpus.sameKey,
    collisions: obs.collisions,
  };

  for (const d of obs.dead) {
    tally.dead[d.category] = (tally.dead[d.category] ?? 0) + 1;
    const line = d.position.kind === "file" ? d.position.line : "?";
    v.dead_letters.push(`line ${line}: ${d.category}: ${d.reason}`);
  }

  // A re-send must be dropped when its original is held by the sinks. The original of one whose
  // original was dead-lettered was never marked seen (a fixed, re-injected event is no
  // duplicate): it may be dropped or dead-lettered again, and the dead-letter property speaks.
  const deadLines = new Set(obs.dead.map((d) => d.position.kind === "file" ? d.position.line : 0));
  const resendOf = new Map(corpus.resends.map((r) => [r.line, r.of]));
  let dropped = 0;
  for (let line = 1; line <= corpus.lines.length; line++) {
    const held = obs.processed.has(line) || deadLines.has(line);
    if (!held) dropped++;
    const of = resendOf.get(line);
    if (of !== undefined) {
      if (!obs.processed.has(of)) continue;
      if (held) v.dedup.push(`line ${line} re-sends line ${of} but was processed again`);
      else tally.resends.dropped++;
    } else if (!held) {
      tally.resends.distinctDropped++;
      v.dedup.push(`line ${line} is a distinct event but was dropped as a duplicate`);
    }
  }
  if (obs.dropped !== dropped) {
    v.dedup.push(`dedup_dropped_total is ${obs.dropped}, but ${dropped} lines were dropped`);
  } else if (obs.dead.length === 0 && obs.dropped !== corpus.resends.length) {
    v.dedup.push(
      `dedup_dropped_total is ${obs.dropped}, re-sends injected ${corpus.resends.length}`,
    );
  }

  const { nodes, links } = graph(obs.versions);
  const resolve = (iteration: string, ref: Ref) => {
    const value = normPath(ref.value);
    return [...nodes.values()].filter((n) =>
      n.label === ref.label && n.iteration_id === iteration && n.values.has(value)
    ).map((n) => n.id);
  };
  const between = (p: Pair) => {
    const left = resolve(p.iteration_id, p.left);
    const right = resolve(p.iteration_id, p.right);
    const found = left.flatMap((a) => right.map((b) => links.get(pairKey(a, b))))
      .filter((l): l is LinkView => l !== undefined);
    return { left, right, found };
  };

  const plantedKeys = new Set<string>();
  for (const p of corpus.pairs) {
    const t = tally.planted[`${p.family} ${p.shape}`] ??= { planted: 0, found: 0 };
    t.planted++;
    const { left, right, found } = between(p);
    for (const a of left) for (const b of right) plantedKeys.add(pairKey(a, b));
    const what = `${p.iteration_id}: ${show(p.left)} ~ ${show(p.right)} (${p.shape})`;
    if (left.length === 0 || right.length === 0) {
      const missing = [
        left.length ? undefined : show(p.left),
        right.length ? undefined : show(p.right),
      ];
      v.planted.push(`${what}: not in the graph: ${missing.filter(Boolean).join(", ")}`);
      continue;
    }
    const ok = found.find((l) =>
      l.rules.some(FAMILY_EVIDENCE[p.family]) && l.confidence >= FAMILY_SCORE[p.family] - 1e-6
    );
    if (ok) t.found++;
    else if (found.length === 0) v.planted.push(`${what}: not linked`);
    else {
      const got = found.map((l) =>
        `${l.confidence} [${l.rules.map((r) => `${r.rule} ${r.kind} ${r.score}`).join(", ")}]`
      );
      v.planted.push(`${what}: linked, but not by a ${p.family} rule with its score: ${got}`);
    }
  }

  for (const m of corpus.misses) {
    const { found } = between(m);
    if (found.length === 0) continue;
    tally.misses.linked++;
    const l = found[0];
    v.near_misses.push(
      `${m.iteration_id}: ${show(m.left)} ~ ${show(m.right)} (${m.shape}) linked at ` +
        `${l.confidence} by ${l.rules.map((r) => `${r.rule} ${r.score}`).join(", ")}`,
    );
  }

  for (const [key, l] of links) {
    if (l.confidence < 0.6) continue;
    if (plantedKeys.has(key)) tally.strong.planted++;
    else {
      tally.strong.unplanned++;
      const a = nodes.get(l.a), b = nodes.get(l.b);
      v.precision.push(
        `${a?.label} ${l.a} ~ ${b?.label} ${l.b} linked at ${l.confidence} by ` +
          l.rules.map((r) => `${r.rule} ${r.score}`).join(", "),
      );
    }
  }
  return { violations: v, tally };
}

interface NodeView {
  id: string;
  label: string;
  iteration_id: string;
  /** Key values and string properties of every believed version, normalised. */
  values: Set<string>;
}

function graph(versions: Version[]) {
  const nodes = new Map<string, NodeView>();
  const links = new Map<string, LinkView>();
  for (const x of versions) {
    if (x.kind === "node") {
      let n = nodes.get(x.id);
      if (!n) {
        nodes.set(
          x.id,
          n = { id: x.id, label: x.label, iteration_id: x.iteration_id, values: new Set() },
        );
      }
      for (const k of x.key) n.values.add(normPath(k));
      for (const p of Object.values(x.props)) if (typeof p === "string") n.values.add(normPath(p));
    } else if (x.kind === "link" && x.from && x.to) {
      links.set(pairKey(x.from, x.to), {
        a: x.from,
        b: x.to,
        confidence: Number(x.props.confidence),
        rules: (x.props.rules ?? []) as RuleEvidence[],
      });
    }
  }
  return { nodes, links };
}
