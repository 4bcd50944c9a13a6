/**
 * Stable hashing: the idempotency keys, fact ids and the policy hash all depend on it.
 * @module
 */
import { createHash } from "node:crypto";

/** Hex SHA-256 of a UTF-8 string. */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A short, stable id (128 bits of SHA-256) for a tuple of strings. */
export function factId(...parts: readonly string[]): string {
  return sha256(JSON.stringify(parts)).slice(0, 32);
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableStringify(value: unknown): string {
  // Fast path for the common case, a flat object of scalars and arrays of scalars (entity props).
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    let out = "{";
    for (let i = 0; i < keys.length; i++) {
      const v = obj[keys[i]];
      if (v !== null && typeof v === "object" && !isScalarArray(v)) return slowStringify(value);
      if (v === undefined) continue;
      out += (out.length > 1 ? "," : "") + JSON.stringify(keys[i]) + ":" + JSON.stringify(v);
    }
    return out + "}";
  }
  return slowStringify(value);
}

function isScalarArray(v: object): boolean {
  return Array.isArray(v) && v.every((x) => x === null || typeof x !== "object");
}

function slowStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
