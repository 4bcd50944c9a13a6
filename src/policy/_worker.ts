/**
 * A worker that loads a spec, evaluates it over a JSON Lines corpus (see {@link evaluate}) and then
 * answers `explain` requests on that evaluation. `plan` runs the base and the working policy in
 * two of these at once: on a multi-core machine that halves its wall time.
 * @module
 */
import { loadSpec } from "../compiler/mod.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import { type Endpoint, evaluate, type Evaluation, readJsonl } from "./evaluate.ts";
import { engineOf, explainPair, type PairExplanation } from "./_explain.ts";

export type WorkerRequest =
  | { type: "evaluate"; specFile: string; corpus: string; batchSize?: number }
  | { type: "explain"; pairs: [Endpoint, Endpoint][] };

export type WorkerReply =
  | {
    type: "evaluated";
    policy: string;
    links: Evaluation["links"];
    events: number;
    deadLetters: number;
    elapsed_ms: number;
  }
  | { type: "explained"; explanations: PairExplanation[] }
  | { type: "failed"; message: string };

let spec: CompiledSpec | undefined;
let result: Evaluation | undefined;

// Typed by hand: the deno.worker lib would clash with the window lib of the modules imported here.
const scope = self as unknown as {
  onmessage: (e: MessageEvent<WorkerRequest>) => void;
  postMessage(message: WorkerReply): void;
};

scope.onmessage = async (e) => {
  const reply = (r: WorkerReply) => scope.postMessage(r);
  try {
    const msg = e.data;
    if (msg.type === "evaluate") {
      const loaded = await loadSpec(msg.specFile);
      if (!loaded.spec) throw new Error(`the spec ${msg.specFile} is invalid`);
      spec = loaded.spec;
      const events = await readJsonl(msg.corpus);
      result = await evaluate(spec, events, { batchSize: msg.batchSize, source: msg.corpus });
      reply({
        type: "evaluated",
        policy: result.policy,
        links: result.links,
        events: events.length,
        deadLetters: result.deadLetters.length,
        elapsed_ms: result.elapsed_ms,
      });
    } else {
      if (!spec || !result) throw new Error("explain before evaluate");
      const engine = engineOf(spec);
      const s = spec, r = result;
      reply({
        type: "explained",
        explanations: msg.pairs.map(([a, b]) => explainPair(engine, s, r.entities, a, b)),
      });
    }
  } catch (error) {
    reply({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  }
};
