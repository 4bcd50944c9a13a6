/**
 * Correlate: the graph model folds a batch's observations into versions and links (`src/graph`),
 * after loading from the store the iterations it does not hold.
 * @module
 */
import type { ApplyResult } from "../graph/mod.ts";
import type { Call } from "./_call.ts";
import type { Correlation } from "./_correlation.ts";
import type { Observed } from "./_map.ts";

/** A batch applied to a model: its changes, and the correlation (model) that made them. */
export interface Applied {
  applied: ApplyResult;
  correlation: Correlation;
}

export async function correlate(call: Call, c: Correlation, o: Observed): Promise<Applied> {
  await call("graph", () => c.model.prepare(o.events.map((e) => e.event.iteration_id)));
  return { applied: c.model.apply(o.entities, o.relationships, Date.now()), correlation: c };
}
