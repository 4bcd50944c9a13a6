/**
 * Shrinking a failing corpus model, structure first: whole iterations, then each iteration's
 * plants, near misses, background events, bursts and re-sends, then the events of each entity
 * (halves, then quarters, ..., then one at a time), then the noise (every optional field absent),
 * then one batch and plain ids. Each step is kept only when the property still fails. Faster than
 * fast-check's value-by-value shrinking on corpora, where every try is a pipeline run, and it ends
 * in a counterexample of a few lines that `deno task run --input` replays as it failed (one batch).
 * @module
 */
import type { CorpusModel, EntityBits, EventBits } from "./_model.ts";

/** True when the property fails on the model. */
export type Fails = (model: CorpusModel) => Promise<boolean>;

export interface Reduced {
  model: CorpusModel;
  /** Tries that kept the failure. */
  steps: number;
  /** Stopped by the deadline before every step was tried. */
  interrupted: boolean;
}

export async function reduce(model: CorpusModel, fails: Fails, deadline: number): Promise<Reduced> {
  let current = model;
  let steps = 0;
  let interrupted = false;
  /** Apply `change` to a copy; keep it if the property still fails. */
  const attempt = async (change: (m: CorpusModel) => void): Promise<boolean> => {
    if (Date.now() > deadline) {
      interrupted = true;
      return false;
    }
    const next = structuredClone(current);
    change(next);
    if (!(await fails(next))) return false;
    current = next;
    steps++;
    return true;
  };
  /** Remove chunks of a list (halves down to single items) while the failure stays. */
  const shrinkList = async (list: (m: CorpusModel) => unknown[] | undefined, min = 0) => {
    let chunk = Math.max(1, Math.floor((list(current)?.length ?? 0) / 2));
    for (;;) {
      for (let i = 0; i < (list(current)?.length ?? 0) - min && !interrupted;) {
        const n = Math.min(chunk, list(current)!.length - min);
        if (!(await attempt((m) => list(m)!.splice(i, n)))) i += chunk;
      }
      if (chunk === 1 || interrupted) return;
      chunk = Math.max(1, Math.floor(chunk / 2));
    }
  };

  await attempt((m) => m.batchSize = 5000);
  await shrinkList((m) => m.iterations, 1);
  for (let i = 0; i < current.iterations.length; i++) {
    const it = (m: CorpusModel) => m.iterations[i];
    for (const key of ["plants", "misses", "background", "bursts", "resends"] as const) {
      await shrinkList((m) => it(m)?.[key]);
    }
    const entities = (m: CorpusModel): EntityBits[] =>
      it(m)
        ? [
          ...it(m).plants.flatMap((p) => [p.a, p.b, p.c]),
          ...it(m).misses.flatMap((x) => [x.a, x.b]),
        ]
        : [];
    for (let e = 0; e < entities(current).length; e++) {
      await shrinkList((m) => entities(m)[e]?.events, 1);
    }
    for (let b = 0; b < current.iterations[i].bursts.length; b++) {
      await shrinkList((m) => it(m)?.bursts[b]?.events, 1);
    }
  }
  // Every optional field absent at once, else event by event.
  const everyEvent = (m: CorpusModel): EventBits[] =>
    m.iterations.flatMap((it) => [
      ...it.plants.flatMap((p) => [p.a, p.b, p.c].flatMap((e) => e.events)),
      ...it.misses.flatMap((x) => [x.a, x.b].flatMap((e) => e.events)),
      ...it.background.map((b) => b.event),
      ...it.bursts.flatMap((b) => b.events),
    ]);
  if (!(await attempt((m) => everyEvent(m).forEach((e) => e.noise = {})))) {
    for (let e = 0; e < everyEvent(current).length && !interrupted; e++) {
      await attempt((m) => everyEvent(m)[e].noise = {});
    }
  }
  await attempt((m) => everyEvent(m).forEach((e) => e.late = 0));
  await attempt((m) =>
    m.iterations.forEach((it, i) => {
      it.tag = `t${i}`;
      for (const k of Object.keys(it.ids) as (keyof typeof it.ids)[]) it.ids[k] = [k];
      it.plants.forEach((p, j) => p.nonce = `p${j}`);
      it.misses.forEach((x, j) => x.nonce = `m${j}`);
    })
  );
  return { model: current, steps, interrupted };
}
