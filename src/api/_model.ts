/**
 * The API's shape, derived from the compiled spec: one GraphQL object type per entity label with
 * its declared properties (typed from the Avro field types), a field per relationship both ways,
 * and the names the SDL and the resolvers share. A spec change changes the API with no code change.
 *
 * Names: a label's type is the label (`Task`), or `<Label>Entity` where the label is a name of the
 * API's own (`Link`, `Iteration`); its root field is the label in lower camel case (`qualityGate`),
 * or `<label>Entity` where that is a root of its own. A property keeps its spec name
 * (`duration_ms`), or `property_<name>` where that is a field every entity has. A relationship type
 * gives the field `hasTask` (HAS_TASK) on its source label and `hasTaskFrom` on its target label,
 * or `hasTaskRel`/`hasTaskFromRel` where that name is taken.
 * @module
 */
import type { CompiledSpec } from "../compiler/types.ts";
import { fieldType } from "../compiler/mod.ts";

/** A GraphQL type for an Avro field type: `String`, `Int`, `Float`, `Boolean`, `[String]`, `JSON`. */
export type FieldKind = "String" | "Int" | "Float" | "Boolean" | "JSON" | `[${string}]`;

export interface PropertyModel {
  /** The spec's property name (the key in a version's props). */
  name: string;
  /** The GraphQL field name. */
  field: string;
  type: FieldKind;
  /** The event field it comes from, for the description. */
  source: string;
}

export interface RelationshipField {
  field: string;
  type: string;
  direction: "out" | "in";
  /** The label at the other end. */
  other: string;
}

export interface LabelModel {
  label: string;
  typeName: string;
  rootField: string;
  properties: PropertyModel[];
  relationships: RelationshipField[];
}

export interface ApiModel {
  labels: LabelModel[];
  types: string[];
  byLabel: Map<string, LabelModel>;
  /** Rule id → the label of its left side (links are shown left → right). */
  leftOf: Map<string, string>;
}

/** Names of the API's own types: a label of one of these names gets `Entity` appended. */
export const FIXED_TYPES: ReadonlySet<string> = new Set([
  "Query",
  "Entity",
  "UnknownEntity",
  "EntityEdge",
  "EntityConnection",
  "EntityLabel",
  "EntityRefInput",
  "Iteration",
  "IterationEdge",
  "IterationConnection",
  "IterationCounts",
  "LabelCount",
  "TypeCount",
  "Link",
  "LinkEdge",
  "LinkConnection",
  "RuleEvidence",
  "Relationship",
  "RelationshipEdge",
  "RelationshipConnection",
  "RelationshipType",
  "PageInfo",
  "Explanation",
  "RuleVerdict",
  "Verdict",
  "DeadLetter",
  "DeadLetterEdge",
  "DeadLetterConnection",
  "DeadLetterCategory",
  "Time",
  "JSON",
  "String",
  "Int",
  "Float",
  "Boolean",
  "ID",
]);

/** Fields every entity type has. */
export const ENTITY_FIELDS: ReadonlySet<string> = new Set([
  "id",
  "label",
  "iterationId",
  "key",
  "ref",
  "validFrom",
  "validTo",
  "observedAt",
  "supersededAt",
  "properties",
  "links",
  "versions",
]);

/** Root fields of the API's own. */
export const FIXED_ROOTS: ReadonlySet<string> = new Set([
  "iterations",
  "iteration",
  "entity",
  "links",
  "explain",
  "deadLetters",
]);

const lowerFirst = (s: string) => s[0].toLowerCase() + s.slice(1);
/** `HAS_TASK` → `hasTask`. */
export const camel = (type: string) =>
  type.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The GraphQL type of an Avro field type as `fieldType()` describes it. */
export function kindOf(avro: string | undefined): FieldKind {
  if (avro === undefined) return "JSON";
  const list = /^array<(.+)>$/.exec(avro);
  if (list) {
    const item = kindOf(list[1]);
    return item === "JSON" || item.startsWith("[") ? "JSON" : `[${item}]`;
  }
  switch (avro) {
    case "string":
    case "bytes":
    case "fixed":
      return "String";
    case "int":
      return "Int";
    // A long may pass 2^31 (GraphQL's Int is 32 bits): a Float holds it exactly to 2^53.
    case "long":
    case "float":
    case "double":
      return "Float";
    case "boolean":
      return "Boolean";
    default:
      return "JSON";
  }
}

export function apiModel(spec: CompiledSpec): ApiModel {
  const labels = [...spec.entities].sort((a, b) => a.label < b.label ? -1 : 1).map((e) => {
    const typeName = FIXED_TYPES.has(e.label) ? `${e.label}Entity` : e.label;
    const root = lowerFirst(e.label);
    const stream = spec.streams.get(e.stream);
    const taken = new Set(ENTITY_FIELDS);
    const properties = e.properties.map((p) => {
      const field = taken.has(p.name) || p.name.startsWith("__") ? `property_${p.name}` : p.name;
      taken.add(field);
      return {
        name: p.name,
        field,
        type: kindOf(stream ? fieldType(stream.type, p.field) : undefined),
        source: `${e.stream}.${p.field}`,
      };
    });
    const relationships: RelationshipField[] = [];
    for (const r of spec.relationships) {
      for (const direction of ["out", "in"] as const) {
        const [here, there] = direction === "out" ? [r.from, r.to] : [r.to, r.from];
        if (here.label !== e.label) continue;
        let field = camel(r.type) + (direction === "in" ? "From" : "");
        if (taken.has(field)) field += "Rel";
        if (taken.has(field)) continue; // the same type twice: one field
        taken.add(field);
        relationships.push({ field, type: r.type, direction, other: there.label });
      }
    }
    return {
      label: e.label,
      typeName,
      rootField: FIXED_ROOTS.has(root) ? `${root}Entity` : root,
      properties,
      relationships,
    };
  });
  return {
    labels,
    types: [...new Set(spec.relationships.map((r) => r.type))].sort(),
    byLabel: new Map(labels.map((l) => [l.label, l])),
    leftOf: new Map(spec.rules.map((r) => [r.id, r.left])),
  };
}
