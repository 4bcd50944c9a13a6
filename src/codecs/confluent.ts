/**
 * The Confluent wire format: magic byte `0`, the writer schema's registry id (4 bytes, big-endian),
 * then the Avro binary body.
 *
 * The writer schema comes from the registry by id; the reader schema is the stream's local `.avsc`.
 * When they differ (a producer on an older or newer compatible version), the body is read through
 * avsc's schema resolution (`reader.createResolver(writer)`), cached per pair.
 *
 * Decoding is synchronous (the runtime decodes inside its batch loop), so registry lookups happen
 * before: a {@link SchemaCache} fetches every id of a batch it does not know yet
 * ({@link SchemaCache.prefetch}, one request per unknown id, results cached for the process) and
 * then answers {@link WriterSchemas} lookups from memory. Wiring: the Kafka source owns one cache,
 * prefetches each batch before yielding it, and exposes the cache's `get` as
 * `source.writerSchema(id)`; the decoder (`src/codecs/mod.ts`) calls
 * `decodeConfluent(record.value, writerSchema, stream.type)` for `avro_confluent` records.
 * @module
 */
import avro from "avsc";
import { Buffer } from "node:buffer";
import type { RawRecord } from "../core/types.ts";
import type { Registry } from "../schema_registry/mod.ts";
import { RegistryError } from "../schema_registry/mod.ts";
import { type Resolver, resolverOf } from "./avro.ts";

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

/** The writer schema of a registry id, or undefined when it is not known. */
export type WriterSchemas = (id: number) => avro.Type | undefined;

export type ConfluentDecoded =
  | { ok: true; schemaId: number; event: Record<string, unknown> }
  | { ok: false; reason: string; category?: "schema_violation" };

/** Magic byte, big-endian schema id, Avro body. Throws when `value` does not fit the schema. */
export function encode(schemaId: number, type: avro.Type, value: unknown): Uint8Array {
  const body = type.toBuffer(value);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setUint32(1, schemaId, false);
  out.set(body, HEADER_BYTES);
  return out;
}

/** The schema id of a wire-format value, or undefined when the header is not there. */
export function schemaIdOf(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_BYTE) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1, false);
}

/**
 * Decode a wire-format value. Without `reader` the event is read with the writer schema; with it,
 * through schema resolution. Never throws: every failure is a reason for the dead-letter queue.
 */
export function decodeConfluent(
  bytes: Uint8Array,
  resolve: WriterSchemas,
  reader?: avro.Type,
): ConfluentDecoded {
  if (bytes.length < HEADER_BYTES) {
    return {
      ok: false,
      reason: `value of ${bytes.length} bytes is too short for the Confluent wire format ` +
        `(magic byte and 4-byte schema id)`,
    };
  }
  if (bytes[0] !== MAGIC_BYTE) {
    return {
      ok: false,
      reason: `value does not start with the Confluent magic byte 0 (found ${bytes[0]})`,
    };
  }
  const schemaId = schemaIdOf(bytes)!;
  const writer = resolve(schemaId);
  if (!writer) return { ok: false, reason: `schema id ${schemaId} is unknown to the registry` };
  let resolver: Resolver | null = null;
  try {
    if (reader) resolver = resolverOf(reader, writer);
  } catch (error) {
    // The bytes are a well-formed record of their writer schema, but that schema breaks the
    // stream's contract (another record, a field of another type): not a decoding failure.
    return {
      ok: false,
      category: "schema_violation",
      reason: `writer schema id ${schemaId} cannot be read as ${reader!.name}: ${
        (error as Error).message
      }`,
    };
  }
  const body = Buffer.from(
    bytes.buffer,
    bytes.byteOffset + HEADER_BYTES,
    bytes.length - HEADER_BYTES,
  );
  try {
    const type = reader ?? writer;
    const event = resolver ? type.fromBuffer(body, resolver) : type.fromBuffer(body);
    return { ok: true, schemaId, event };
  } catch (error) {
    return {
      ok: false,
      reason: `Avro body does not match writer schema id ${schemaId}: ${(error as Error).message}`,
    };
  }
}

/** Writer schemas by registry id, fetched ahead of synchronous decoding. */
export interface SchemaCache {
  get: WriterSchemas;
  /**
   * Fetch the writer schema of every `avro_confluent` record whose id is not cached (one request
   * per distinct unknown id, in parallel). An id the registry does not have stays unknown (its
   * records are dead-lettered); an unreachable registry rejects with a RetriableError.
   */
  prefetch(records: Iterable<RawRecord>): Promise<void>;
}

export function createSchemaCache(registry: Pick<Registry, "schemaById">): SchemaCache {
  const types = new Map<number, avro.Type>();
  const unusable = new Map<number, string>();
  return {
    get: (id) => types.get(id),
    async prefetch(records) {
      const wanted = new Set<number>();
      for (const r of records) {
        if (r.format !== "avro_confluent") continue;
        const id = schemaIdOf(r.value);
        if (id !== undefined && !types.has(id) && !unusable.has(id)) wanted.add(id);
      }
      await Promise.all([...wanted].map(async (id) => {
        let text: string;
        try {
          text = await registry.schemaById(id);
        } catch (error) {
          // 404: the id does not exist (a foreign producer, another registry); the records
          // carrying it are dead-lettered. Asked again in a later batch, in case it appears.
          if (error instanceof RegistryError && error.status === 404) return;
          throw error;
        }
        try {
          types.set(id, avro.Type.forSchema(JSON.parse(text)));
        } catch (error) {
          unusable.set(id, (error as Error).message);
        }
      }));
    },
  };
}
