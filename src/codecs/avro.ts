/** Avro binary body of one record, decoded with the stream's schema. */
import type avro from "avsc";
import { Buffer } from "node:buffer";

export function decodeAvro(
  type: avro.Type,
  bytes: Uint8Array,
): { ok: true; event: Record<string, unknown> } | { ok: false; reason: string } {
  try {
    return {
      ok: true,
      event: type.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)),
    };
  } catch (error) {
    return {
      ok: false,
      reason: `Avro body does not match schema ${type.name}: ${(error as Error).message}`,
    };
  }
}
