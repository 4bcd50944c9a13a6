/**
 * The read side of the graph store contract (`GraphReader`): a history of two iterations with
 * several labels, relationships both ways, links of equal and different confidences by two
 * rules, rescored and retracted links, an entity whose valid-time history is rewritten, and keys
 * that sort differently in UTF-16 and in code points. Every read method is compared with the
 * contract's own answer at many points in both times, and every page walk must give the whole
 * answer in order, once.
 */
import assert from "node:assert/strict";
import type {
  GraphReader,
  IterationCounts,
  LinkCursor,
  LinkFilter,
  RelationshipCursor,
  TimePoint,
} from "../src/core/component.ts";
import type { GraphChanges, Version } from "../src/core/types.ts";
import { entityId, linkId, relationshipId } from "../src/graph/mod.ts";
import { compareText } from "../src/sinks/neo4j_graph/_order.ts";

type Batch = GraphChanges;

/** Versions made as the graph model makes them, for the fixture. */
function version(
  kind: Version["kind"],
  id: string,
  it: string,
  label: string,
  v: Partial<Version> & { valid_from: number; observed_at: number },
): Version {
  return {
    kind,
    id,
    version_id: `${id}@${v.valid_from}@${v.observed_at}`,
    iteration_id: it,
    label,
    key: [],
    props: {},
    valid_to: null,
    superseded_at: null,
    ...v,
  };
}

const ref = (v: Version) => {
  const { kind, version_id, id, label, from, to, valid_from, observed_at } = v;
  return { kind, version_id, id, label, from, to, valid_from, observed_at };
};

/** Keys that sort differently in UTF-16 and in code points, and a quote. */
export const KEYS = ["a", "b", "c", "é", "\uFF5E", "\u{1F600}", 'q"t'];

/** Two iterations over three batches (system time 10s, 20s, 30s). */
export function readFixture(prefix: string): Batch[] {
  const it = `${prefix}r-1`, it2 = `${prefix}r-2`;
  const node = (label: string, key: string, vf: number, oa: number, props = {}, i = it) =>
    version("node", entityId(label, i, [key]), i, label, {
      key: [key],
      valid_from: vf,
      observed_at: oa,
      props: { name: key, ...props },
      observations: [{ time: vf, props: { name: key } }],
    });
  const task = (k: string) => entityId("Task", it, [k]);
  const wf = (k: string) => entityId("Workflow", it, [k]);
  const sc = (k: string, i = it) => entityId("Scenario", i, [k]);
  const rel = (from: string, to: string, vf: number, oa: number) =>
    version("relationship", relationshipId(it, "HAS_TASK", from, to), it, "HAS_TASK", {
      from,
      to,
      valid_from: vf,
      observed_at: oa,
    });
  const link = (
    from: string,
    to: string,
    confidence: number,
    rules: string[],
    vf: number,
    oa: number,
    i = it,
  ) =>
    version("link", linkId(i, from, to), i, "CORRELATES", {
      from,
      to,
      valid_from: vf,
      observed_at: oa,
      props: {
        confidence,
        rules: rules.map((rule) => ({
          rule,
          kind: "explicit_id",
          score: confidence,
          matched: { left: rule, right: [rule, { nested: `"rule":"${rule}-not"` }] },
        })),
        policy: "sha256:fixture",
      },
    });
  const tasks = KEYS.map((k, i) => node("Task", k, 1000 + i, 10_000, { status: "RUNNING" }));
  const firstA = tasks[0];
  const links1 = [
    link(sc("s1"), task("a"), 0.9, ["r-exact"], 1500, 10_000),
    link(sc("s1"), task("b"), 0.9, ["r-exact", "r-fuzzy"], 1500, 10_000),
    link(sc("s2"), task("a"), 0.5, ["r-fuzzy"], 1600, 10_000),
    link(sc("s2"), task("\uFF5E"), 1, ["r-exact"], 1600, 10_000),
    link(sc("s3"), task("\u{1F600}"), 0.7, ["r-fuzzy"], 1700, 10_000),
    link(sc("s3"), task("é"), 0.7, ["r-exact"], 1700, 10_000),
    link(sc("s3"), task("b"), 0.9, ["r-exact"], 1700, 10_000),
  ];
  const rels1 = [
    ...["a", "b", "c"].map((k) => rel(wf("w1"), task(k), 1000, 10_000)),
    ...["é", "\uFF5E", "\u{1F600}", 'q"t'].map((k) => rel(wf("w2"), task(k), 1100, 10_000)),
    rel(wf("w1"), task("\u{1F600}"), 1200, 10_000),
  ];
  const bounded = (v: Version, valid_to: number) => ({ ...v, valid_to });
  return [
    {
      opened: [
        ...tasks,
        node("Workflow", "w1", 900, 10_000),
        node("Workflow", "w2", 950, 10_000),
        ...["s1", "s2", "s3"].map((k) => node("Scenario", k, 1400, 10_000)),
        ...rels1,
        ...links1,
        node("Scenario", "s9", 1400, 10_000, {}, it2),
        node("Task", "a", 1400, 10_000, {}, it2),
        link(sc("s9", it2), entityId("Task", it2, ["a"]), 0.8, ["r-exact"], 1500, 10_000, it2),
      ],
      closed: [],
    },
    {
      // Task a's history is rewritten: RUNNING until 3000, then SUCCEEDED; Workflow w2 changes at
      // 2000; a link is rescored, one retracted, one made.
      opened: [
        bounded(node("Task", "a", 1000, 20_000, { status: "RUNNING" }), 3000),
        node("Task", "a", 3000, 20_000, { status: "SUCCEEDED" }),
        bounded(node("Workflow", "w2", 950, 20_000), 2000),
        node("Workflow", "w2", 2000, 20_000, { status: "DONE" }),
        link(sc("s2"), task("a"), 0.95, ["r-fuzzy", "r-exact"], 1600, 20_000),
        link(sc("s1"), task("c"), 0.9, ["r-fuzzy"], 2500, 20_000),
      ],
      closed: [
        { ...ref(firstA), at: 20_000 },
        { ...ref(node("Workflow", "w2", 950, 10_000)), at: 20_000 },
        { ...ref(links1[2]), at: 20_000 },
        { ...ref(links1[4]), at: 20_000 },
      ],
    },
    {
      // The relationship w1 → 😀 is retracted; Task a's SUCCEEDED moves to 2500.
      opened: [
        bounded(node("Task", "a", 1000, 30_000, { status: "RUNNING" }), 2500),
        node("Task", "a", 2500, 30_000, { status: "SUCCEEDED" }),
      ],
      closed: [
        { ...ref(rels1.at(-1)!), at: 30_000 },
        { ...ref(node("Task", "a", 1000, 20_000)), at: 30_000 },
        { ...ref(node("Task", "a", 3000, 20_000)), at: 30_000 },
      ],
    },
  ];
}

/** The contract's answers, over the versions as they stand after the batches. */
export function readReference(all: Version[]) {
  const believed = (v: Version, tp: TimePoint) =>
    (tp.known_at !== undefined
      ? v.observed_at <= tp.known_at && (v.superseded_at === null || v.superseded_at > tp.known_at)
      : v.superseded_at === null) &&
    (tp.valid_at !== undefined
      ? v.valid_from <= tp.valid_at && (v.valid_to === null || v.valid_to > tp.valid_at)
      : v.valid_to === null);
  const shown = (v: Version): Version => {
    const { observations: _, ...rest } = v;
    return { ...rest, from: v.from, to: v.to };
  };
  const atPoint = (tp: TimePoint) => all.filter((v) => believed(v, tp)).map(shown);
  const byId = (a: Version, b: Version) => compareText(a.id, b.id);
  const conf = (v: Version) => v.props.confidence as number;
  const linkOrder = (a: Version, b: Version) =>
    conf(b) - conf(a) || compareText(a.from!, b.from!) || compareText(a.to!, b.to!);
  const linkAfter = (v: Version, c?: LinkCursor) =>
    !c || conf(v) < c[0] ||
    (conf(v) === c[0] && (compareText(v.from!, c[1]) > 0 ||
      (v.from === c[1] && compareText(v.to!, c[2]) > 0)));
  const linkMatch = (v: Version, f: LinkFilter) =>
    (f.min_confidence === undefined || conf(v) >= f.min_confidence) &&
    (f.max_confidence === undefined || conf(v) <= f.max_confidence) &&
    (f.rule === undefined ||
      (v.props.rules as { rule: string }[]).some((r) => r.rule === f.rule));
  const reader: GraphReader = {
    readIterations: (q) =>
      Promise.resolve(
        [...new Set(atPoint(q).map((v) => v.iteration_id))].sort(compareText)
          .filter((i) => i.startsWith(q.prefix ?? ""))
          .filter((i) => q.after === undefined || compareText(i, q.after) > 0)
          .slice(0, q.first),
      ),
    countIteration(q) {
      const c: IterationCounts = { entities: {}, relationships: {}, links: 0 };
      for (const v of atPoint(q).filter((v) => v.iteration_id === q.iteration_id)) {
        if (v.kind === "node") c.entities[v.label] = (c.entities[v.label] ?? 0) + 1;
        else if (v.kind === "relationship") {
          c.relationships[v.label] = (c.relationships[v.label] ?? 0) + 1;
        } else c.links++;
      }
      return Promise.resolve(c);
    },
    readEntities: (q) =>
      Promise.resolve(
        atPoint(q).filter((v) =>
          v.kind === "node" && v.iteration_id === q.iteration_id &&
          (q.label === undefined || v.label === q.label) &&
          (q.after === undefined || compareText(v.id, q.after) > 0)
        ).sort(byId).slice(0, q.first),
      ),
    readNodes: (q) =>
      Promise.resolve(
        atPoint(q).filter((v) => v.kind === "node" && q.ids.includes(v.id)).sort(byId),
      ),
    readRelationships(q) {
      const key = (v: Version): RelationshipCursor => [v.from!, v.label, v.to!];
      const cmp = (a: RelationshipCursor, b: RelationshipCursor) =>
        compareText(a[0], b[0]) || compareText(a[1], b[1]) || compareText(a[2], b[2]);
      return Promise.resolve(
        atPoint(q).filter((v) =>
          v.kind === "relationship" && v.iteration_id === q.iteration_id &&
          (q.type === undefined || v.label === q.type) && (!q.after || cmp(key(v), q.after) > 0)
        ).sort((a, b) => cmp(key(a), key(b))).slice(0, q.first),
      );
    },
    relationshipsOf(q) {
      const [end, other] = q.direction === "out"
        ? ["from", "to"] as const
        : ["to", "from"] as const;
      return Promise.resolve(
        new Map(
          [...new Set(q.ids)].map((id) => [
            id,
            atPoint(q).filter((v) =>
              v.kind === "relationship" && v.label === q.type && v[end] === id &&
              (q.after === undefined || compareText(v[other]!, q.after) > 0)
            ).sort((a, b) => compareText(a[other]!, b[other]!)).slice(0, q.first),
          ]),
        ),
      );
    },
    readLinks: (q) =>
      Promise.resolve(
        atPoint(q).filter((v) =>
          v.kind === "link" &&
          (q.iteration_id === undefined || v.iteration_id === q.iteration_id) &&
          linkMatch(v, q) && linkAfter(v, q.after)
        ).sort(linkOrder).slice(0, q.first),
      ),
    linksOf: (q) =>
      Promise.resolve(
        new Map(
          [...new Set(q.ids)].map((id) => [
            id,
            atPoint(q).filter((v) =>
              v.kind === "link" && (v.from === id || v.to === id) && linkMatch(v, q) &&
              linkAfter(v, q.after)
            ).sort(linkOrder).slice(0, q.first),
          ]),
        ),
      ),
  };
  return reader;
}

/** Every read method of `store` answers as the reference does, at every time point. */
export async function checkReads(store: GraphReader, prefix: string, all: Version[]) {
  const expected = readReference(all);
  const it = `${prefix}r-1`, it2 = `${prefix}r-2`;
  const ids = [
    ...KEYS.map((k) => entityId("Task", it, [k])),
    entityId("Workflow", it, ["w1"]),
    entityId("Workflow", it, ["w2"]),
    ...["s1", "s2", "s3"].map((k) => entityId("Scenario", it, [k])),
    entityId("Task", it2, ["a"]),
    entityId("Task", it, ["none"]),
  ];
  const points: TimePoint[] = [
    {},
    ...[5_000, 10_000, 15_000, 20_000, 25_000, 30_000].flatMap((known_at) => [
      { known_at },
      ...[999, 1000, 1500, 2000, 2500, 2999, 3000, 9999].map((valid_at) => ({
        known_at,
        valid_at,
      })),
    ]),
    ...[1000, 1600, 2600, 3000].map((valid_at) => ({ valid_at })),
  ];
  const same = async <T>(what: string, got: Promise<T>, want: Promise<T>) =>
    assert.deepEqual(await got, await want, what);
  const filters: LinkFilter[] = [
    {},
    { rule: "r-exact" },
    { rule: "r-fuzzy", min_confidence: 0.6 },
    { min_confidence: 0.7, max_confidence: 0.9 },
    { rule: "r-exact-not" },
  ];
  for (const tp of points) {
    const at = JSON.stringify(tp);
    for (const q of [{ first: 100 }, { first: 1 }, { first: 100, prefix: `${prefix}r-2` }]) {
      await same(
        `readIterations ${at}`,
        store.readIterations({ ...tp, ...q, prefix: q.prefix ?? prefix }),
        expected.readIterations({ ...tp, ...q, prefix: q.prefix ?? prefix }),
      );
    }
    for (const i of [it, it2, `${prefix}none`]) {
      await same(
        `countIteration ${i} ${at}`,
        store.countIteration({ ...tp, iteration_id: i }),
        expected.countIteration({ ...tp, iteration_id: i }),
      );
      for (const label of [undefined, "Task", "Scenario", "Nothing"]) {
        const q = { ...tp, iteration_id: i, label, first: 100 };
        await same(
          `readEntities ${i} ${label} ${at}`,
          store.readEntities(q),
          expected.readEntities(q),
        );
      }
      for (const type of [undefined, "HAS_TASK", "PRODUCED"]) {
        const q = { ...tp, iteration_id: i, type, first: 100 };
        await same(
          `readRelationships ${i} ${type} ${at}`,
          store.readRelationships(q),
          expected.readRelationships(q),
        );
      }
    }
    await same(
      `readNodes ${at}`,
      store.readNodes({ ...tp, ids }),
      expected.readNodes({ ...tp, ids }),
    );
    for (const direction of ["out", "in"] as const) {
      const q = { ...tp, ids, type: "HAS_TASK", direction, first: 100 };
      await same(
        `relationshipsOf ${direction} ${at}`,
        store.relationshipsOf(q),
        expected.relationshipsOf(q),
      );
      const q2 = { ...q, first: 2, after: entityId("Task", it, ["b"]) };
      await same(
        `relationshipsOf ${direction} page ${at}`,
        store.relationshipsOf(q2),
        expected.relationshipsOf(q2),
      );
    }
    for (const f of filters) {
      // The whole graph only with a rule of this fixture: a shared store holds others' links.
      const scopes = [{ iteration_id: it }, { iteration_id: it2 }, ...(f.rule ? [{}] : [])];
      for (const scope of scopes) {
        const q = { ...tp, ...f, ...scope, first: 100 };
        const got = (await store.readLinks(q)).filter((v) => v.iteration_id.startsWith(prefix));
        assert.deepEqual(got, await expected.readLinks(q), `readLinks ${JSON.stringify(q)}`);
      }
      const q = { ...tp, ...f, ids, first: 100 };
      await same(`linksOf ${JSON.stringify(f)} ${at}`, store.linksOf(q), expected.linksOf(q));
    }
  }
  // Page walks: every page after the last row's cursor, the whole answer in order, once.
  for (const tp of [{}, { known_at: 20_000 }, { known_at: 30_000, valid_at: 2000 }]) {
    for (const first of [1, 2, 3]) {
      await walk<Version, string>(
        `entities ${first}`,
        (after) => store.readEntities({ ...tp, iteration_id: it, first, after }),
        (v) => v.id,
        await expected.readEntities({ ...tp, iteration_id: it, first: 100 }),
      );
      await walk<Version, RelationshipCursor>(
        `relationships ${first}`,
        (after) => store.readRelationships({ ...tp, iteration_id: it, first, after }),
        (v) => [v.from!, v.label, v.to!] as RelationshipCursor,
        await expected.readRelationships({ ...tp, iteration_id: it, first: 100 }),
      );
      await walk<Version, LinkCursor>(
        `links ${first}`,
        (after) => store.readLinks({ ...tp, iteration_id: it, first, after }),
        (v) => [v.props.confidence as number, v.from!, v.to!] as LinkCursor,
        await expected.readLinks({ ...tp, iteration_id: it, first: 100 }),
      );
      await walk<{ id: string }, string>(
        `iterations ${first}`,
        async (after) =>
          (await store.readIterations({ ...tp, prefix, first, after })).map((id) => ({ id })),
        (v) => v.id,
        (await expected.readIterations({ ...tp, prefix, first: 100 })).map((id) => ({ id })),
      );
      const s1 = entityId("Scenario", it, ["s1"]);
      await walk<Version, LinkCursor>(
        `linksOf ${first}`,
        async (after) => (await store.linksOf({ ...tp, ids: [s1], first, after })).get(s1)!,
        (v) => [v.props.confidence as number, v.from!, v.to!] as LinkCursor,
        (await expected.linksOf({ ...tp, ids: [s1], first: 100 })).get(s1)!,
      );
    }
  }
}

async function walk<T, C>(
  what: string,
  page: (after?: C) => Promise<T[]>,
  cursor: (row: T) => C,
  whole: T[],
) {
  const seen: T[] = [];
  let after: C | undefined;
  for (let i = 0; i <= whole.length + 1; i++) {
    const rows = await page(after);
    if (rows.length === 0) break;
    seen.push(...rows);
    after = cursor(rows.at(-1)!);
  }
  assert.deepEqual(seen, whole, what);
}
