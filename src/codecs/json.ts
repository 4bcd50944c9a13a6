/** JSON form of an event (README, Events): strict UTF-8, one JSON object. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeJson(
  bytes: Uint8Array,
): { ok: true; value: Record<string, unknown>; text: string } | { ok: false; reason: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: "payload is not valid UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `payload is not valid JSON: ${(error as Error).message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, reason: "payload is not a JSON object" };
  }
  return { ok: true, value: value as Record<string, unknown>, text };
}

/**
 * The source text of the number at `path` (field names, array indices) in a JSON document: what
 * a reason quotes, since the parsed number may differ from it (integers above 2^53 are rounded,
 * `1e400` is Infinity). Undefined when no number is there. Parses again: for failure paths only.
 */
export function numberSource(text: string, path: readonly (string | number)[]): string | undefined {
  const sources = new WeakMap<object, Map<string, string>>();
  let root: unknown;
  try {
    root = JSON.parse(
      text,
      function (this: object, key: string, value: unknown, context?: { source?: string }) {
        if (typeof value === "number" && context?.source !== undefined) {
          let byKey = sources.get(this);
          if (!byKey) sources.set(this, byKey = new Map());
          byKey.set(key, context.source);
        }
        return value;
      },
    );
  } catch {
    return undefined;
  }
  let holder: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (holder === null || typeof holder !== "object") return undefined;
    holder = (holder as Record<string, unknown>)[key];
  }
  if (holder === null || typeof holder !== "object" || path.length === 0) return undefined;
  return sources.get(holder)?.get(String(path[path.length - 1]));
}
