/**
 * JSON Schemas for editors that accept `${VAR}` wherever the validator would accept the
 * interpolated value. Interpolation always yields a string, so:
 *
 * - a string with a constraint (`pattern`, `format`, `enum`, `maxLength`) also accepts any
 *   string holding a `${NAME}` or `${NAME:-default}` reference;
 * - a value the validator converts from a string first (`tracing.enabled: "true"`, comma-separated
 *   `brokers`) also accepts any string;
 * - a number, a boolean or a list stays as it is: a reference there fails validation too;
 * - constants (`type: kafka`, `kind: tag`) stay as they are: they choose the keys an editor offers.
 * @module
 */
import type { z } from "zod";

type Json = Record<string, unknown>;

/** A string holding at least one `${NAME}` or `${NAME:-default}` reference. */
export const REFERENCE = {
  type: "string",
  pattern: "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}",
  description: "An environment variable reference, ${NAME} or ${NAME:-default}.",
};

const MARK = "x-ics-from-string";
const CONSTRAINTS = ["pattern", "format", "enum", "maxLength"];
const ANNOTATIONS = new Set(["title", "description", "default", "examples", "deprecated"]);

/** zod `override`: marks values a `z.preprocess()` builds from strings (their input is any). */
export function markPreprocessed(ctx: { zodSchema: unknown; jsonSchema: Json }): void {
  const def = (ctx.zodSchema as z.ZodType)._zod.def as { type: string; in?: z.ZodType };
  if (def.type === "pipe" && def.in?._zod.def.type === "transform") ctx.jsonSchema[MARK] = true;
}

/** The schema with every value position widened as the module comment says (in place). */
export function interpolated<T>(schema: T): T {
  walk(schema);
  return schema;
}

function walk(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(walk);
  if (typeof node !== "object" || node === null) return;
  const schema = node as Json;
  // Children first: a widened node's own branches need no second pass.
  for (const [key, value] of Object.entries(schema)) {
    // Keys are never interpolated: propertyNames stays strict.
    if (key !== "propertyNames") walk(value);
  }
  if (schema[MARK]) {
    delete schema[MARK];
    widen(schema, { type: "string" });
  } else if (schema.type === "string" && CONSTRAINTS.some((c) => c in schema)) {
    widen(schema, REFERENCE);
  }
}

/** `schema` becomes `anyOf: [its checks, alternative]`, keeping its annotations on top. */
function widen(schema: Json, alternative: Json): void {
  const checks: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!ANNOTATIONS.has(key)) checks[key] = value, delete schema[key];
  }
  schema.anyOf = [checks, alternative];
}
