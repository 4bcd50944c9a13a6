/**
 * Avro binary body of one record, decoded with the stream's schema (the reader). When the record
 * says which schema wrote it (an Avro container file's header, a registry id), the body is read
 * through Avro schema resolution (`reader.createResolver(writer)`): fields are matched by name,
 * not position, a field the reader lacks is skipped, one the writer lacks takes its default.
 * @module
 */
import type avro from "avsc";
import { Buffer } from "node:buffer";

/** avsc does not export its Resolver class type. */
export type Resolver = ReturnType<avro.Type["createResolver"]>;

const resolvers = new WeakMap<avro.Type, WeakMap<avro.Type, Resolver | null | Error>>();

/**
 * The resolver reading `writer` data as `reader` (null when the schemas are the same), cached per
 * pair; throws (every time, from the cache) when the writer cannot be read as the reader.
 */
export function resolverOf(reader: avro.Type, writer: avro.Type): Resolver | null {
  let byWriter = resolvers.get(reader);
  if (!byWriter) resolvers.set(reader, byWriter = new WeakMap());
  let r = byWriter.get(writer);
  if (r === undefined) {
    try {
      r = reader.equals(writer) ? null : reader.createResolver(writer);
    } catch (error) {
      r = error as Error;
    }
    byWriter.set(writer, r);
  }
  if (r instanceof Error) throw r;
  return r;
}

export function decodeAvro(
  type: avro.Type,
  bytes: Uint8Array,
  writer?: avro.Type,
):
  | { ok: true; event: Record<string, unknown> }
  | { ok: false; reason: string; category?: "schema_violation" } {
  let resolver: Resolver | null = null;
  if (writer) {
    try {
      resolver = resolverOf(type, writer);
    } catch (error) {
      // Well-formed data of a schema that breaks the stream's contract: not a decoding failure.
      return {
        ok: false,
        category: "schema_violation",
        reason: `writer schema ${writer.name} cannot be read as ${type.name}: ${
          (error as Error).message
        }`,
      };
    }
  }
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  try {
    return {
      ok: true,
      event: resolver ? type.fromBuffer(body, resolver) : type.fromBuffer(body),
    };
  } catch (error) {
    return {
      ok: false,
      reason: `Avro body does not match schema ${(writer ?? type).name}: ${
        (error as Error).message
      }`,
    };
  }
}
