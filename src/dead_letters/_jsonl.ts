/**
 * A dead letter as a JSON Lines line (the file queue): the {@link DeadLetter} object as JSON, one
 * per line.
 * @module
 */
import { type DeadLetter, DLQ_CATEGORIES, type DlqCategory, type Position } from "../core/types.ts";

/** The letter's line, newline included. */
export function encodeLine(letter: DeadLetter): string {
  return JSON.stringify(letter) + "\n";
}

/**
 * The letter a line holds, or undefined when it holds none (not JSON, no known category, no
 * payload or position). Lenient with the rest, so letters of older versions and lines edited by
 * hand still read: a missing reason or policy reads as "", a missing time as 0.
 */
export function decodeLine(text: string): DeadLetter | undefined {
  let l: Record<string, unknown>;
  try {
    l = JSON.parse(text);
  } catch {
    return undefined;
  }
  const position = l?.position as Position | undefined;
  if (
    !DLQ_CATEGORIES.includes(l?.category as DlqCategory) || typeof l.payload !== "string" ||
    (position?.kind !== "file" && position?.kind !== "kafka")
  ) return undefined;
  const number = (v: unknown) => typeof v === "number" ? v : undefined;
  const string = (v: unknown) => typeof v === "string" ? v : undefined;
  const optional = {
    key: string(l.key),
    stream: string(l.stream),
    attempts: number(l.attempts),
    format: string(l.format) as DeadLetter["format"],
    redriven: number(l.redriven),
    truncated: number(l.truncated),
  };
  return {
    category: l.category as DlqCategory,
    reason: String(l.reason ?? ""),
    position,
    payload: l.payload,
    payload_encoding: l.payload_encoding === "base64" ? "base64" : "utf8",
    time: number(l.time) ?? 0,
    policy: string(l.policy) ?? "",
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
