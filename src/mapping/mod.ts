/**
 * Mapping: an event becomes entity and relationship observations, as the spec's `entities` and
 * `relationships` declare. Config, not code: nothing here knows about tasks or modules.
 * @module
 */
import type { EntityMapping, RelationshipMapping } from "../spec/mod.ts";
import type { EntityObservation, Event, RelationshipObservation } from "../core/types.ts";
import { Buffer } from "node:buffer";
import { readField } from "../core/fields.ts";
import { MAX_ENTITY_ID_BYTES } from "../core/identifiers.ts";
import { entityId } from "../graph/mod.ts";

export interface Mapped {
  entities: EntityObservation[];
  relationships: RelationshipObservation[];
}

export interface Mapper {
  /** Observations of one event; throws {@link MappingError} when a declared key is missing. */
  map(stream: string, event: Event): Mapped;
}

export class MappingError extends Error {
  override name = "MappingError";
}

export function createMapper(
  entities: EntityMapping[],
  relationships: RelationshipMapping[],
): Mapper {
  // Index mappings by stream and event type once, so an event costs only its own mappings.
  const byType = new Map<
    string,
    { entities: EntityMapping[]; relationships: RelationshipMapping[] }
  >();
  const slot = (stream: string, type: string) => {
    const k = `${stream}\u0000${type}`;
    let s = byType.get(k);
    if (!s) byType.set(k, s = { entities: [], relationships: [] });
    return s;
  };
  for (const e of entities) for (const t of e.eventTypes) slot(e.stream, t).entities.push(e);
  for (const r of relationships) {
    for (const t of r.eventTypes) slot(r.stream, t).relationships.push(r);
  }

  return {
    map(stream, event) {
      const mappings = byType.get(`${stream}\u0000${event.event_type}`);
      const out: Mapped = { entities: [], relationships: [] };
      if (!mappings) return out;
      for (const m of mappings.entities) {
        const key = keyOf(event, m.key);
        if (!key) {
          throw new MappingError(
            `${event.event_type} maps to ${m.label}, whose key ${
              fieldList(m.key)
            } is missing or empty`,
          );
        }
        checkIdSize(m.label, event.iteration_id, key);
        const props: Record<string, unknown> = {};
        for (const p of m.properties) {
          const v = readField(event, p.field);
          // null and [] say nothing (an omitted `tags` defaults to []): they must not erase
          // what earlier events said.
          if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) {
            props[p.name] = v;
          }
        }
        out.entities.push({
          label: m.label,
          iteration_id: event.iteration_id,
          key,
          time: event.timestamp,
          props,
        });
      }
      for (const r of mappings.relationships) {
        const from = keyOf(event, r.from.key);
        const to = keyOf(event, r.to.key);
        // A relationship whose endpoint is absent from this event is simply not asserted.
        if (!from || !to) continue;
        checkIdSize(r.from.label, event.iteration_id, from);
        checkIdSize(r.to.label, event.iteration_id, to);
        out.relationships.push({
          type: r.type,
          iteration_id: event.iteration_id,
          from: { label: r.from.label, iteration_id: event.iteration_id, key: from },
          to: { label: r.to.label, iteration_id: event.iteration_id, key: to },
          time: event.timestamp,
        });
      }
      return out;
    },
  };
}

/** The key values as strings, or undefined when one is missing, empty or blank. */
function keyOf(event: Event, fields: string[]): string[] | undefined {
  const key: string[] = [];
  for (const f of fields) {
    const v = readField(event, f);
    // A blank id ("", "  ") names nothing: it would merge unrelated events into one entity.
    if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) {
      return undefined;
    }
    key.push(typeof v === "string" ? v : JSON.stringify(v));
  }
  return key;
}

/** The entity's id must fit the graph stores' indexes (long ids are refused before, too). */
function checkIdSize(label: string, iteration: string, key: string[]) {
  const bytes = Buffer.byteLength(entityId(label, iteration, key), "utf8");
  if (bytes > MAX_ENTITY_ID_BYTES) {
    throw new MappingError(
      `the id of ${label} ${JSON.stringify(key).slice(0, 60)}... is ${bytes} bytes, more than ` +
        `the graph stores can index (${MAX_ENTITY_ID_BYTES})`,
    );
  }
}

function fieldList(fields: string[]): string {
  return fields.map((f) => `"${f}"`).join(", ");
}
