/**
 * A corpus model becomes JSON lines (EVENTS.md form, as `ics run --input` and `ics produce` read
 * them) and the ground truth the properties check: planted pairs, near misses, and which lines are
 * exact re-sends of an earlier line.
 *
 * Time: each iteration lies in the validation window of the spec (`validation.min_timestamp` to
 * `now + max_future_seconds`), at its very start, its very end or in between. Order: lines are
 * sorted by time plus lateness (so some arrive out of order), iterations interleaved. Two
 * distinct events never differ only in `event_id` (whether such a pair is one event is not for
 * EVENTS.md to say); a re-send repeats its line byte for byte, later.
 * @module
 */
import type { CorpusModel } from "./_model.ts";
import { SPAN_MS } from "./_model.ts";
import type { Emitted, IterationContext } from "./_event.ts";
import { nearMiss, type Pair, plant } from "./_plants.ts";
import { background, burst } from "./_background.ts";
import { PLANT_WORDS } from "./_words.ts";

export interface Window {
  /** `validation.min_timestamp` of the spec. */
  min_timestamp: number;
  /** `validation.max_future_seconds` of the spec. */
  max_future_seconds: number;
  /** The wall clock the window ends after. */
  now: number;
}

export interface RenderOptions extends Window {
  /** Iteration ids start with this (services tests share the stores). */
  prefix: string;
}

export interface Corpus {
  lines: string[];
  /** Exact re-sends: the (1-based) line that repeats an earlier line, and that line. */
  resends: { line: number; of: number }[];
  iterations: string[];
  pairs: Pair[];
  misses: Pair[];
  /** Events sharing EVENTS.md's idempotency key with another but differing in content. */
  sameKey: number;
  batchSize: number;
}

/** Object keys sorted at every depth: equal values, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}

export function render(model: CorpusModel, options: RenderOptions): Corpus {
  const maxTimestamp = options.now + options.max_future_seconds * 1000;
  const room = Math.max(0, maxTimestamp - SPAN_MS - options.min_timestamp);
  type Line = { line: string; order: number; original?: Line };
  const lines: Line[] = [];
  const seen = new Set<string>();
  const corpus: Corpus = {
    lines: [],
    resends: [],
    iterations: [],
    pairs: [],
    misses: [],
    sameKey: 0,
    batchSize: model.batchSize,
  };
  let n = 0;
  model.iterations.forEach((it, i) => {
    const iteration_id = `${options.prefix}${i}-${it.tag}`;
    const t0 = it.anchor === "min"
      ? options.min_timestamp
      : it.anchor === "max"
      ? maxTimestamp - SPAN_MS
      : options.min_timestamp + Math.floor(it.anchor * room);
    let used = 0;
    const out: Emitted[] = [];
    const ctx: IterationContext = {
      model: it,
      iteration_id,
      t0,
      out,
      take(count) {
        if (used + count > it.words.length) return undefined;
        const words = it.words.slice(used, used + count).map((w) => PLANT_WORDS[w]);
        used += count;
        return words;
      },
    };
    corpus.iterations.push(iteration_id);
    for (const p of it.plants) corpus.pairs.push(...plant(ctx, p));
    for (const m of it.misses) corpus.misses.push(...nearMiss(ctx, m));
    for (const b of it.background) background(ctx, b);
    for (const b of it.bursts) corpus.sameKey += burst(ctx, b);

    const kept: Line[] = [];
    for (const { event, order } of out) {
      const content = canonical({ ...event, event_id: undefined });
      if (seen.has(content)) continue; // differs from an earlier event only in its id
      seen.add(content);
      event.event_id = `${it.tag}·${i}.${n++}`;
      const line = JSON.stringify(event);
      const l: Line = { line, order };
      kept.push(l);
      lines.push(l);
    }
    for (const r of it.resends) {
      if (kept.length === 0) break;
      const original = kept[r.pick % kept.length];
      lines.push({ line: original.line, order: original.order + r.delay, original });
    }
  });
  // Stable: ties keep emission order, so a re-send always comes after its original.
  lines.sort((a, b) => a.order - b.order);
  const number = new Map(lines.map((l, i) => [l, i + 1]));
  lines.forEach((l, i) => {
    corpus.lines.push(l.line);
    if (l.original) corpus.resends.push({ line: i + 1, of: number.get(l.original)! });
  });
  return corpus;
}

/** The corpus as a JSON Lines file's text. */
export const jsonl = (corpus: Corpus) => corpus.lines.map((l) => l + "\n").join("");
