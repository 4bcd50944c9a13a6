/** JSON form of an event (README, Events): strict UTF-8, one JSON object. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeJson(
  bytes: Uint8Array,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
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
  return { ok: true, value: value as Record<string, unknown> };
}
