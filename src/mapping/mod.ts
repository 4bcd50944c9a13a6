/**
 * Mapping: an event becomes entity and relationship observations, as the spec's `entities` and
 * `relationships` declare. Config, not code: nothing here knows about tasks or modules.
 * @module
 */
import type { EntityMapping, KeyAlternatives, RelationshipMapping } from "../compiler/types.ts";
import type { EntityObservation, Event, RelationshipObservation } from "../core/types.ts";
import { Buffer } from "node:buffer";
import { readField } from "../core/fields.ts";
import { MAX_ENTITY_ID_BYTES } from "../core/identifiers.ts";
import { entityId } from "../graph/mod.ts";
import { normalizePath } from "../core/paths.ts";

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
        // An entity the event cannot name is not observed; the event may still name others.
        const key = keyOf(event, m.keys, m.pathFields);
        if (!key) continue;
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
        const from = keyOf(event, r.from.keys, r.pathFields);
        const to = keyOf(event, r.to.keys, r.pathFields);
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
      // Only an event that names nothing it could be about is a mapping error (the contract).
      if (out.entities.length === 0 && mappings.entities.length > 0) {
        throw new MappingError(
          `${event.event_type} names nothing it could be about: ${
            mappings.entities.map((m) => `${m.label} needs ${alternatives(m.keys)}`).join("; ")
          }`,
        );
      }
      return out;
    },
  };
}

/**
 * The first key alternative whose fields are all present, as strings, or undefined when none
 * is. A missing, empty or blank value does not name anything: it would merge unrelated events
 * into one entity. Values of path fields are normalised (`./src//a\b.py` is `src/a/b.py`).
 */
function keyOf(
  event: Event,
  alternatives: KeyAlternatives,
  pathFields: ReadonlySet<string>,
): string[] | undefined {
  next: for (const fields of alternatives) {
    const key: string[] = [];
    for (const f of fields) {
      const v = readField(event, f);
      if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) {
        continue next;
      }
      const text = typeof v === "string" ? v : JSON.stringify(v);
      key.push(pathFields.has(f) ? normalizePath(text) : text);
    }
    return key;
  }
  return undefined;
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

/** `"module_path", else "module_name"`. */
function alternatives(keys: KeyAlternatives): string {
  return keys.map((k) => k.map((f) => `"${f}"`).join(" and ")).join(", else ");
}
