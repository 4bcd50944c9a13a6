/** A field of an event by name; dotted names reach into maps (`metadata.dde_node_id`). */
export function readField(event: Record<string, unknown>, field: string): unknown {
  if (!field.includes(".")) return event[field];
  let value: unknown = event;
  for (const part of field.split(".")) {
    // Own entries only: `metadata.constructor` of an event without one is absent, not a function.
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
