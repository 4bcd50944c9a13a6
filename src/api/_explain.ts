/** `explain(a, b)`: every rule's verdict on a pair, as `ics explain` gives it, and the stored link. */
import { entityId, entityViews, linkId } from "../graph/mod.ts";
import { explainPair } from "../policy/mod.ts";
import type { ApiContext } from "./_context.ts";
import { formatRef, point, type When } from "./_entity.ts";

const VERDICTS = { "fired": "FIRED", "near miss": "NEAR_MISS", "not applicable": "NOT_APPLICABLE" };

interface RefInput {
  label: string;
  iterationId: string;
  key: string[];
}

export async function explain(
  _o: unknown,
  a: { a: RefInput; b: RefInput } & When,
  ctx: ApiContext,
) {
  const at = point(a);
  const refs = [a.a, a.b].map((r) => ({ label: r.label, iteration_id: r.iterationId, key: r.key }));
  const ids = refs.map((r) => entityId(r.label, r.iteration_id, r.key));
  // As `ics explain` does: the entities as the engine would see them (every version believed).
  const views = entityViews(await ctx.store.query({ kind: "node", ids, ...at }));
  const x = explainPair(ctx.engine, ctx.spec, views, refs[0], refs[1]);
  const it = refs[0].iteration_id;
  const stored = refs[0].iteration_id === refs[1].iteration_id
    ? (await ctx.store.query({
      kind: "link",
      // Scoped to the iteration: Neo4j finds a link from its iteration's entities.
      iteration_id: it,
      ids: [linkId(it, ids[0], ids[1]), linkId(it, ids[1], ids[0])],
      ...at,
    }))
      .find((v) => at.valid_at !== undefined || v.valid_to === null)
    : undefined;
  return {
    ids,
    at,
    linked: x.linked,
    confidence: x.confidence,
    minConfidence: x.min_confidence,
    combine: ctx.spec.combine,
    policy: ctx.spec.policy,
    crossIteration: x.crossIteration === true,
    missing: refs.filter((_, i) => !views.has(ids[i])).map(formatRef),
    verdicts: x.verdicts.map((v) => ({ ...v, verdict: VERDICTS[v.verdict] })),
    link: stored ? { v: stored, at } : null,
  };
}
