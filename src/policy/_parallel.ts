/**
 * The client side of `_worker.ts`: an evaluation running in its own worker (its own thread), and
 * `explain` requests answered from it afterwards.
 * @module
 */
import type { Endpoint } from "./evaluate.ts";
import type { PairExplanation } from "./_explain.ts";
import type { WorkerReply, WorkerRequest } from "./_worker.ts";

export interface RemoteEvaluation {
  policy: string;
  links: Extract<WorkerReply, { type: "evaluated" }>["links"];
  events: number;
  deadLetters: number;
  elapsed_ms: number;
  explain(pairs: [Endpoint, Endpoint][]): Promise<PairExplanation[]>;
  close(): void;
}

/** Evaluate a spec over a JSON Lines corpus in a worker; resolves once the links are known. */
export async function evaluateInWorker(
  specFile: string,
  corpus: string,
  batchSize?: number,
): Promise<RemoteEvaluation> {
  const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
  const ask = (request: WorkerRequest) =>
    new Promise<WorkerReply>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<WorkerReply>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage(request);
    });
  try {
    const r = await ask({ type: "evaluate", specFile, corpus, batchSize });
    if (r.type === "failed") throw new Error(r.message);
    if (r.type !== "evaluated") throw new Error(`unexpected reply ${r.type}`);
    return {
      policy: r.policy,
      links: r.links,
      events: r.events,
      deadLetters: r.deadLetters,
      elapsed_ms: r.elapsed_ms,
      async explain(pairs) {
        if (pairs.length === 0) return [];
        const x = await ask({ type: "explain", pairs });
        if (x.type === "failed") throw new Error(x.message);
        return x.type === "explained" ? x.explanations : [];
      },
      close: () => worker.terminate(),
    };
  } catch (error) {
    worker.terminate();
    throw error;
  }
}
