/**
 * The query mix of `bench:api` (iteration views, entity lookups with links, explain, as-of
 * queries, links by rule and confidence) and the samples it draws its arguments from.
 * @module
 */
import type { Request } from "./_api_load.ts";
import { mulberry32 } from "./corpus.ts";

async function ask(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

interface Ref {
  label: string;
  iterationId: string;
  key: string[];
}
interface Pools {
  iterations: string[];
  tasks: (Ref & { validFrom: string; observedAt: string })[];
  pairs: [Ref, Ref][];
  rules: string[];
}

/** Iterations, tasks, linked pairs and near misses, picked through the API (not timed). */
export async function samples(url: string, prefix: string): Promise<Pools> {
  const all: string[] = [];
  for (let after: string | null = null;;) {
    const d = await ask(
      url,
      `query($after: String) { iterations(first: 500, after: $after) {
        nodes { id } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    all.push(...d.iterations.nodes.map((n: { id: string }) => n.id));
    if (!d.iterations.pageInfo.hasNextPage) break;
    after = d.iterations.pageInfo.endCursor;
  }
  if (prefix) all.splice(0, all.length, ...all.filter((i) => i.startsWith(prefix)));
  const rng = mulberry32(42);
  const iterations = Array.from(
    { length: Math.min(64, all.length) },
    () => all[Math.floor(rng() * all.length)],
  );
  const pools: Pools = { iterations, tasks: [], pairs: [], rules: [] };
  const rules = new Set<string>();
  for (const id of iterations.slice(0, 32)) {
    const d = await ask(
      url,
      `query($id: ID!) { iteration(id: $id) {
        tasks: entities(label: Task, first: 100) { nodes { key validFrom observedAt } }
        artifacts: entities(label: Artifact, first: 20) { nodes { key } }
        modules: entities(label: Module, first: 20) { nodes { key } }
        links(first: 20) { nodes { from { label key } to { label key } rules { rule } } } } }`,
      { id },
    );
    const it = d.iteration;
    for (const t of it.tasks.nodes) pools.tasks.push({ label: "Task", iterationId: id, ...t });
    for (const l of it.links.nodes) {
      if (!l.from || !l.to) continue;
      pools.pairs.push([{ ...l.from, iterationId: id }, { ...l.to, iterationId: id }]);
      for (const r of l.rules) rules.add(r.rule);
    }
    // Artifacts and modules of one iteration: mostly near misses, some links.
    for (const a of it.artifacts.nodes.slice(0, 5)) {
      for (const m of it.modules.nodes.slice(0, 5)) {
        pools.pairs.push([
          { label: "Artifact", iterationId: id, key: a.key },
          { label: "Module", iterationId: id, key: m.key },
        ]);
      }
    }
  }
  pools.rules = [...rules].sort();
  return pools;
}

const ENTITY = `query($it: String!, $key: [String!]!) { task(iterationId: $it, key: $key) {
  ref status duration_ms validFrom observedAt
  hasTaskFrom { nodes { ref ... on Workflow { status } } }
  produced { nodes { ref } }
  links(first: 10) { nodes { confidence policy rules { rule kind score matched detail }
    from { ref } to { ref } } } } }`;
const ITERATION = `query($id: ID!) { iteration(id: $id) {
  counts { entities relationships links byLabel { label count } }
  entities(first: 50) { nodes { ref label validFrom ... on Task { status } ... on Module { fan_in } }
    pageInfo { hasNextPage endCursor } }
  links(first: 20) { nodes { confidence from { ref } to { ref } rules { rule score } } } } }`;
const EXPLAIN = `query($a: EntityRefInput!, $b: EntityRefInput!) { explain(a: $a, b: $b) {
  linked confidence missing verdicts { rule verdict score reason } link { confidence } } }`;
const AS_OF = `query($id: ID!, $it: String!, $key: [String!]!, $asOf: Time, $knownAt: Time) {
  iteration(id: $id, asOf: $asOf, knownAt: $knownAt) { counts { entities relationships links }
    entities(first: 20) { nodes { ref validFrom } } }
  task(iterationId: $it, key: $key, asOf: $asOf, knownAt: $knownAt) {
    ref status validFrom validTo links { nodes { confidence } } } }`;
const LINKS = `query($it: String!, $rule: String, $min: Float) {
  links(iterationId: $it, rule: $rule, minConfidence: $min, first: 20) {
    nodes { confidence rules { rule score } from { ref } to { ref } } } }`;

/** The mix: each client cycles through the five kinds, picking its arguments at random. */
export function mix(p: Pools): (client: number, i: number) => Request {
  const rngs = new Map<number, () => number>();
  return (client, i) => {
    if (!rngs.has(client)) rngs.set(client, mulberry32(1000 + client));
    const rng = rngs.get(client)!;
    const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)];
    const task = pick(p.tasks);
    switch ((i + client) % 5) {
      case 0:
        return { kind: "iteration", query: ITERATION, variables: { id: pick(p.iterations) } };
      case 1:
        return {
          kind: "entity",
          query: ENTITY,
          variables: { it: task.iterationId, key: task.key },
        };
      case 2: {
        const [a, b] = pick(p.pairs);
        return { kind: "explain", query: EXPLAIN, variables: { a, b } };
      }
      case 3:
        // What did the runner know when it learned of this task, about when it started?
        return {
          kind: "as-of",
          query: AS_OF,
          variables: {
            id: task.iterationId,
            it: task.iterationId,
            key: task.key,
            asOf: task.validFrom,
            knownAt: task.observedAt,
          },
        };
      default:
        return {
          kind: "links",
          query: LINKS,
          variables: {
            it: pick(p.iterations),
            rule: rng() < 0.5 ? pick(p.rules) : null,
            min: rng() < 0.5 ? 0.5 : null,
          },
        };
    }
  };
}
