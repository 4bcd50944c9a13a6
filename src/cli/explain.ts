/** `ics explain A B`: why two entities are linked, or why not. */
import {
  formatRef,
  JSON_OUTPUT,
  load,
  openGraph,
  parseRef,
  STORE,
  TIME_TRAVEL,
} from "./_common.ts";
import { command } from "./_command.ts";
import { createEngine, type Explanation } from "../correlation/mod.ts";
import { entityId, entityViews } from "../graph/mod.ts";
import { UserError } from "../core/errors.ts";

export const cli = command({
  name: "explain",
  summary: "why two entities are linked, or why not",
  args: "A B",
  about: `Explain the correlation between two entities, each written Label:iteration:key
(e.g. Artifact:it-0001:src/api/user_service.py Module:it-0001:api.user_service).
Every rule of the current policy is evaluated on the pair: fired (with its score and the values
it matched), near miss (evaluated, below its threshold) or not applicable; then the combination.`,
  flags: { ...TIME_TRAVEL, ...JSON_OUTPUT, ...STORE },
});

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = cli.parse(args);
  if (positionals.length !== 2) {
    throw new UserError("explain takes two entities: ics explain A B (see --help)");
  }
  const spec = await load(values.spec);
  const store = await openGraph(spec, values.target, values.state);
  try {
    const refs = positionals.map(parseRef);
    const ids = refs.map((r) => entityId(r.label, r.iteration_id, r.key));
    const found = entityViews(
      await store.query({
        kind: "node",
        ids,
        valid_at: values["as-of"],
        known_at: values["known-at"],
      }),
    );
    const [a, b] = ids.map((id, i) => {
      const v = found.get(id);
      if (!v) throw new UserError(`entity "${positionals[i]}" is not in the graph`);
      return v;
    });
    const engine = createEngine({
      rules: spec.rules,
      combine: spec.combine,
      min_confidence: spec.min_confidence,
      policy: spec.policy,
    });
    const explanation = engine.explain(a, b);
    if (values.json) console.log(JSON.stringify(toJson(explanation, positionals), null, 2));
    else console.log(text(explanation, formatRef(a), formatRef(b)));
    return 0;
  } finally {
    await store.close();
  }
}

function verdict(e: Explanation["evaluations"][number]): string {
  if (!e.applicable) return "not applicable";
  return e.evaluation!.fired ? "fired" : "near miss";
}

function toJson(x: Explanation, refs: string[]) {
  return {
    a: refs[0],
    b: refs[1],
    policy: x.policy,
    combine: x.combine,
    min_confidence: x.min_confidence,
    confidence: x.confidence,
    linked: x.linked,
    rules: x.evaluations.map((e) => ({
      rule: e.rule.id,
      kind: e.rule.kind,
      verdict: verdict(e),
      ...(e.evaluation
        ? {
          score: e.evaluation.score,
          matched: e.evaluation.matched,
          detail: e.evaluation.detail,
          reason: e.evaluation.reason,
        }
        : {}),
    })),
  };
}

function text(x: Explanation, a: string, b: string): string {
  const lines = [
    `${a}\n  ~ ${b}`,
    `policy ${x.policy} (combine ${x.combine}, min_confidence ${x.min_confidence})`,
    "",
  ];
  for (const e of x.evaluations) {
    const head = `  ${verdict(e).padEnd(15)} ${e.rule.id} (${e.rule.kind})`;
    if (!e.evaluation) {
      const why = e.applicable ? "" : ` — relates ${e.rule.left} and ${e.rule.right}`;
      lines.push(head + why);
      continue;
    }
    lines.push(`${head}  score ${e.evaluation.score.toFixed(3)}`);
    lines.push(`      ${e.evaluation.reason}`);
    if (e.evaluation.detail) {
      lines.push(
        `      ${
          Object.entries(e.evaluation.detail).map(([k, v]) =>
            `${k}=${typeof v === "number" ? +v.toFixed(4) : v}`
          ).join("  ")
        }`,
      );
    }
  }
  const fired = x.evaluations.filter((e) => e.evaluation?.fired).map((e) =>
    e.evaluation!.score.toFixed(3)
  );
  lines.push("");
  lines.push(
    fired.length
      ? `${x.combine}(${fired.join(", ")}) = ${x.confidence.toFixed(3)} → ${
        x.linked ? "linked" : `not linked (below ${x.min_confidence})`
      }`
      : "no rule fired → not linked",
  );
  return lines.join("\n");
}
