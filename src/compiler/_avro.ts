/**
 * What the compiler needs to know about a stream's Avro schema: its fields, their types and the
 * event types its `event_type` enum allows.
 * @module
 */
import avro from "avsc";

/** A field's type reduced to what checks care about: "string", "long", "array<string>", ... */
export type FieldType = string;

/** The type of a (possibly dotted) field, or undefined when the schema has no such field. */
export function fieldType(type: avro.Type, field: string): FieldType | undefined {
  const [head, ...rest] = field.split(".");
  const f = fieldOf(type, head);
  if (!f) return undefined;
  const t = nonNull(f.type);
  if (rest.length === 0) return describe(t);
  // A dotted name reaches into a map of strings (metadata.dde_node_id).
  if (t.typeName !== "map") return undefined;
  return describe(nonNull((t as avro.types.MapType).valuesType));
}

export function fieldNames(type: avro.Type): string[] {
  return ((type as avro.types.RecordType).fields ?? []).map((f) => f.name);
}

export function eventTypes(type: avro.Type): string[] {
  const f = fieldOf(type, "event_type");
  const t = f && nonNull(f.type);
  return t && t.typeName === "enum" ? (t as avro.types.EnumType).symbols : [];
}

/** A record's field by name. (avsc's `field()` looks names up in a plain object, so it finds
 * `constructor` for any record.) */
function fieldOf(type: avro.Type, name: string): avro.types.Field | undefined {
  return (type as avro.types.RecordType).fields?.find((f) => f.name === name);
}

function nonNull(t: avro.Type): avro.Type {
  if (!t.typeName.startsWith("union")) return t;
  const types = (t as unknown as { types: avro.Type[] }).types.filter((x) => x.typeName !== "null");
  return types.length === 1 ? types[0] : t;
}

function describe(t: avro.Type): FieldType {
  const name = t.typeName;
  if (name === "enum") return "string";
  if (name === "array") return `array<${describe(nonNull((t as avro.types.ArrayType).itemsType))}>`;
  if (name.startsWith("logical:")) {
    return describe((t as unknown as { underlyingType: avro.Type }).underlyingType);
  }
  return name;
}
