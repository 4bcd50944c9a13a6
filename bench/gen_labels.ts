/**
 * Writes `rules/tests/labels.jsonl`, the labelled pairs `ics quality` scores the shipped policy
 * against on the bundled samples: every link the sample plans expect (match: true, one line per
 * pair even where two rule families agree on it), every planned near miss (match: false), and a
 * few more non-matches: explicit ids that name another entity, and the same names in another
 * iteration (links never cross iterations). Deterministic; do not edit the output by hand.
 *
 *     deno run --allow-write=rules/tests bench/gen_labels.ts
 * @module
 */
import { contractId, type IterationPlan, moduleKey, stemOf } from "./corpus.ts";
import { expectedLinks, nearMisses, SAMPLE_PLANS } from "./sample_plans.ts";

interface Endpoint {
  label: string;
  iteration_id: string;
  key: string;
}
interface LabelLine {
  left: Endpoint;
  right: Endpoint;
  match: boolean;
  /** The rule families expected to link the pair (several when they agree on it). */
  family: string | string[];
  note: string;
}

/** `Label:key` in an iteration. */
const at = (iteration_id: string, ref: string): Endpoint => {
  const i = ref.indexOf(":");
  return { label: ref.slice(0, i), iteration_id, key: ref.slice(i + 1) };
};

export function labels(plans: IterationPlan[] = SAMPLE_PLANS): LabelLine[] {
  const out = new Map<string, LabelLine>();
  const add = (line: LabelLine) => {
    const id = [line.left, line.right].map((e) => JSON.stringify(e)).sort().join("~");
    const seen = out.get(id);
    if (seen) {
      if (seen.match !== line.match) throw new Error(`contradictory labels for ${id}`);
      seen.family = [...new Set([seen.family, line.family].flat())];
      if (!seen.note.includes(line.note)) seen.note += `; ${line.note}`;
      return;
    }
    out.set(id, line);
  };
  for (const plan of plans) {
    for (const e of expectedLinks(plan)) {
      const [left, right] = [at(e.iteration_id, e.left), at(e.iteration_id, e.right)];
      add({ left, right, match: true, family: e.family, note: e.why });
    }
    for (const e of nearMisses(plan)) {
      const [left, right] = [at(e.iteration_id, e.left), at(e.iteration_id, e.right)];
      add({ left, right, match: false, family: e.family, note: `near miss: ${e.why}` });
    }
    for (const line of otherNonMatches(plan)) add(line);
  }
  for (const line of acrossIterations(plans)) add(line);
  return [...out.values()];
}

/** Explicit ids that name another entity of the same iteration. */
function otherNonMatches(plan: IterationPlan): LabelLine[] {
  const it = plan.id, out: LabelLine[] = [], mods = plan.modules;
  const next = (i: number) => mods[(i + 1) % mods.length];
  mods.forEach((m, i) => {
    const stem = stemOf(m.path), other = stemOf(next(i).path);
    if (m.accNodeId) {
      out.push({
        left: at(it, `Module:${moduleKey(m)}`),
        right: at(it, `Task:build_${other}`),
        match: false,
        family: "explicit_id",
        note: `metadata.dde_node_id names build_${stem}, not build_${other}`,
      });
    }
    if (m.bdvNodeId) {
      out.push({
        left: at(it, `Scenario:sc-${stem}-${m.scenarios}`),
        right: at(it, `Task:build_${stem}`),
        match: false,
        family: "explicit_id",
        note: `metadata.dde_node_id names test_${stem}, not the build task`,
      });
    }
    const c = m.contract, others = mods.filter((x) => x.contract && x !== m);
    if (c?.idInScenario && others.length) {
      out.push({
        left: at(it, `Scenario:sc-${stem}-2`),
        right: at(it, `Contract:${contractId(others[0].contract!)}`),
        match: false,
        family: "explicit_id",
        note: `contract_id names ${contractId(c)}`,
      });
    }
  });
  return out;
}

/** A module planned in two iterations: its artifact in one is not its module in the other. */
function acrossIterations(plans: IterationPlan[]): LabelLine[] {
  const out: LabelLine[] = [];
  for (const [i, a] of plans.entries()) {
    for (const b of plans.slice(i + 1)) {
      for (const m of a.modules) {
        const there = b.modules.find((x) => x.path === m.path);
        if (!there) continue;
        out.push({
          left: at(a.id, `Artifact:src/${m.path}.py`),
          right: at(b.id, `Module:${moduleKey(there)}`),
          match: false,
          family: "cross_iteration",
          note: `the same module in ${a.id} and ${b.id}: links never cross iterations`,
        });
      }
    }
  }
  return out;
}

if (import.meta.main) {
  const lines = labels().map((l) => JSON.stringify(l)).join("\n") + "\n";
  const path = new URL("../rules/tests/labels.jsonl", import.meta.url);
  await Deno.writeTextFile(path, lines);
  console.log(`wrote ${path.pathname} (${lines.trim().split("\n").length} labelled pairs)`);
}
