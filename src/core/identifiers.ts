/**
 * Identifiers that come from the spec and end up as names in a store: node labels, relationship
 * types and property names. Cypher cannot take labels and types as parameters, so they are spliced
 * into statements; the spec compiler therefore admits only these strict patterns (and the graph
 * stores check again before writing). Values are always parameters and need no such care.
 * @module
 */

/** A node label: `Task`, `QualityGate`. */
export const LABEL = /^[A-Z][A-Za-z0-9]{0,63}$/;
/** A relationship type: `HAS_TASK`. */
export const REL_TYPE = /^[A-Z][A-Z0-9_]{0,63}$/;
/** A property name: `node_id`, `dde_node_id`. */
export const PROPERTY = /^[a-z_][a-z0-9_]{0,63}$/;

/** The relationship type of correlation links. */
export const LINK = "CORRELATES";
/** Labels the Neo4j store uses for its own nodes. */
export const RESERVED_LABELS: ReadonlySet<string> = new Set(["Entity", "NodeVersion"]);
/** Types the graph stores use for their own relationships. */
export const RESERVED_TYPES: ReadonlySet<string> = new Set(["VERSION_OF", LINK]);
/**
 * Names of the fields a stored version has besides its props: a prop of one of these names would
 * be shadowed by the system field in Neo4j. (`iteration_id` is one too, but a prop of that name
 * can only hold the version's own iteration, so the spec may use it.)
 */
// deno-fmt-ignore
export const RESERVED_PROPERTIES: ReadonlySet<string> = new Set([
  "kind", "id", "version_id", "label", "key", "from_id", "to_id", "props_json",
  "valid_from", "valid_to", "observed_at", "superseded_at", "observations_json", "json_props",
]);

/**
 * Longest entity id (UTF-8 bytes of its JSON tuple, see `entityId()`) the graph stores can take.
 * Ids are indexed, and Neo4j's index keys hold at most 8167 bytes; the longest indexed value is a
 * link's version id, which JSON-escapes two entity ids and the iteration (each at most doubling in
 * size) plus two times: 3 × 2 × 1300 + 80 < 8167.
 */
export const MAX_ENTITY_ID_BYTES = 1300;
