/**
 * Map events to entity and relationship observations, as the spec declares (`src/mapping`). An
 * event that names nothing it could be about is dead-lettered (`mapping_error`).
 * @module
 */
import type { EntityObservation, Envelope, RelationshipObservation } from "../core/types.ts";
import { breather } from "../core/breathe.ts";
import { type Mapper, MappingError } from "../mapping/mod.ts";
import type { Pipeline } from "./_compile.ts";
import type { Letters } from "./_letters.ts";

/** What a set of events says, to correlate (again, if the model is replaced meanwhile). */
export interface Observed {
  events: Envelope[];
  entities: EntityObservation[];
  relationships: RelationshipObservation[];
}

export async function map(p: Pipeline, fresh: Envelope[], dead: Letters): Promise<Observed> {
  const out: Observed = { events: [], entities: [], relationships: [] };
  const breathe = breather();
  for (const e of fresh) {
    await breathe();
    try {
      observe(p.mapper, e, out);
      p.telemetry.add("events_processed_total", 1, { stream: e.stream });
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      dead.add(e.record, "mapping_error", error.message, e.stream);
    }
  }
  return out;
}

/** Events mapped again (they mapped once: no error now). */
export function observed(mapper: Mapper, events: Envelope[]): Observed {
  const out: Observed = { events: [], entities: [], relationships: [] };
  for (const e of events) observe(mapper, e, out);
  return out;
}

function observe(mapper: Mapper, e: Envelope, out: Observed) {
  const m = mapper.map(e.stream, e.event);
  for (const o of m.entities) out.entities.push(o);
  for (const o of m.relationships) out.relationships.push(o);
  out.events.push(e);
}
