/**
 * The resolvers of the roots, iterations, links, relationships, explanations and dead letters.
 * Every root reads its time point (`asOf`, `knownAt`) and hands it down to what it returns, so a
 * nested field answers at the same point in both times.
 * @module
 */
import type { RelationshipCursor, TimePoint } from "../core/component.ts";
import type { DeadLetter, LinkProps, RuleEvidence, Version } from "../core/types.ts";
import { entityId } from "../graph/mod.ts";
import { explain } from "./_explain.ts";
import { letterId } from "../dead_letters/mod.ts";
import { redact } from "../core/secrets.ts";
import type { ApiContext } from "./_context.ts";
import {
  endpoint,
  entityFields,
  type EntityObj,
  entityObjs,
  labelResolvers,
  linkAfter,
  type LinkArgs,
  linkCursor,
  linkFilter,
  type LinkObj,
  point,
  type When,
} from "./_entity.ts";
import type { LetterAt } from "./_dead_letters.ts";
import {
  connection,
  decodeCursor,
  isString,
  isStrings,
  JSONScalar,
  pageSize,
  Time,
} from "./_values.ts";

type Args = Record<string, unknown>;
interface IterationObj {
  id: string;
  at: TimePoint;
}
interface RelObj {
  v: Version;
  at: TimePoint;
}

/** The label in an entity id (a JSON array [iteration, label, ...key]). */
function labelOfId(id: string): string | undefined {
  try {
    const parsed = JSON.parse(id);
    return Array.isArray(parsed) && typeof parsed[1] === "string" ? parsed[1] : undefined;
  } catch {
    return undefined;
  }
}

/** A link's ends, shown from its first rule's left label to its right label. */
function ends(ctx: ApiContext, v: Version): [string, string] {
  const left = ctx.model.leftOf.get((v.props as LinkProps).rules?.[0]?.rule);
  const [a, b] = [v.from!, v.to!];
  return left && labelOfId(a) !== left && labelOfId(b) === left ? [b, a] : [a, b];
}

const times = {
  validFrom: (o: { v: Version }) => o.v.valid_from,
  validTo: (o: { v: Version }) => o.v.valid_to,
  observedAt: (o: { v: Version }) => o.v.observed_at,
  supersededAt: (o: { v: Version }) => o.v.superseded_at,
};

async function linksOfIteration(
  ctx: ApiContext,
  a: LinkArgs & When,
  iteration_id?: string,
  at = point(a),
) {
  const first = pageSize(a.first, ctx.maxPage);
  const rows = await ctx.store.readLinks({
    ...at,
    ...linkFilter(a),
    ...(iteration_id !== undefined ? { iteration_id } : {}),
    first: first + 1,
    after: linkAfter(a.after),
  });
  return connection(rows, first, "links", linkCursor, (v): LinkObj => ({ v, at }));
}

export function resolvers(ctx0: { model: ApiContext["model"] }) {
  const model = ctx0.model;
  const byLabel: Record<string, unknown> = {};
  for (const l of model.labels) byLabel[l.typeName] = labelResolvers(l);
  const roots: Record<string, (o: unknown, a: Args, ctx: ApiContext) => unknown> = {};
  for (const l of model.labels) {
    roots[l.rootField] = (_o, a, ctx) => {
      const at = point(a as When);
      return endpoint(ctx, entityId(l.label, a.iterationId as string, a.key as string[]), at)
        .then((e) => e && e.v.label === l.label ? e : null);
    };
  }
  return {
    Time,
    JSON: JSONScalar,
    Entity: {
      __resolveType: (o: EntityObj) => model.byLabel.get(o.v.label)?.typeName ?? "UnknownEntity",
    },
    UnknownEntity: entityFields,
    ...byLabel,
    Query: {
      ...roots,
      async iterations(_o: unknown, a: Args & When, ctx: ApiContext) {
        const at = point(a);
        const first = pageSize(a.first as number | null, ctx.maxPage);
        const after = a.after
          ? decodeCursor<string>("iterations", a.after as string, isString)
          : undefined;
        const ids = await ctx.store.readIterations({
          ...at,
          prefix: (a.prefix as string | null) ?? undefined,
          first: first + 1,
          after,
        });
        return connection(ids, first, "iterations", (id) => id, (id): IterationObj => ({ id, at }));
      },
      async iteration(_o: unknown, a: Args & When, ctx: ApiContext) {
        const at = point(a);
        const [found] = await ctx.store.readIterations({ ...at, prefix: a.id as string, first: 1 });
        return found === a.id ? { id: found, at } : null;
      },
      entity: (_o: unknown, a: Args & When, ctx: ApiContext) =>
        endpoint(
          ctx,
          entityId(a.label as string, a.iterationId as string, a.key as string[]),
          point(a),
        ),
      links: (_o: unknown, a: Args & When & LinkArgs, ctx: ApiContext) =>
        linksOfIteration(ctx, a, (a.iterationId as string | null) ?? undefined),
      explain,
      async deadLetters(_o: unknown, a: Args & When, ctx: ApiContext) {
        const first = pageSize(a.first as number | null, ctx.maxPage);
        const after = a.after
          ? decodeCursor<number>(
            "deadLetters",
            a.after as string,
            (k) => Number.isSafeInteger(k) && (k as number) >= 0,
          )
          : undefined;
        const rows = await ctx.deadLetters.page({
          category: (a.category as DeadLetter["category"] | null) ?? undefined,
          after,
          first: first + 1,
          known_at: point(a).known_at,
        });
        return connection(rows, first, "deadLetters", (r) => r.next, (r: LetterAt) => r.letter);
      },
    },
    Iteration: {
      id: (o: IterationObj) => o.id,
      async counts(o: IterationObj, _a: Args, ctx: ApiContext) {
        const c = await ctx.loaders(o.at).counts.load(o.id);
        const sum = (r: Record<string, number>) => Object.values(r).reduce((s, n) => s + n, 0);
        const sorted = (r: Record<string, number>) =>
          Object.entries(r).sort(([x], [y]) => x < y ? -1 : 1);
        return {
          entities: sum(c.entities),
          relationships: sum(c.relationships),
          links: c.links,
          byLabel: sorted(c.entities).map(([label, count]) => ({ label, count })),
          byType: sorted(c.relationships).map(([type, count]) => ({ type, count })),
        };
      },
      async entities(o: IterationObj, a: Args, ctx: ApiContext) {
        const first = pageSize(a.first as number | null, ctx.maxPage);
        const after = a.after
          ? decodeCursor<string>("entities", a.after as string, isString)
          : undefined;
        const rows = await ctx.store.readEntities({
          ...o.at,
          iteration_id: o.id,
          label: (a.label as string | null) ?? undefined,
          first: first + 1,
          after,
        });
        return connection(
          rows,
          first,
          "entities",
          (v) => v.id,
          (v): EntityObj => ({ v, at: o.at }),
        );
      },
      async relationships(o: IterationObj, a: Args, ctx: ApiContext) {
        const first = pageSize(a.first as number | null, ctx.maxPage);
        const after = a.after
          ? decodeCursor<RelationshipCursor>("relationships", a.after as string, isStrings(3))
          : undefined;
        const rows = await ctx.store.readRelationships({
          ...o.at,
          iteration_id: o.id,
          type: (a.type as string | null) ?? undefined,
          first: first + 1,
          after,
        });
        return connection(
          rows,
          first,
          "relationships",
          (v) => [v.from, v.label, v.to],
          (v): RelObj => ({ v, at: o.at }),
        );
      },
      links: (o: IterationObj, a: LinkArgs, ctx: ApiContext) =>
        linksOfIteration(ctx, a, o.id, o.at),
    },
    Link: {
      id: (o: LinkObj) => o.v.id,
      iterationId: (o: LinkObj) => o.v.iteration_id,
      from: (o: LinkObj, _a: Args, ctx: ApiContext) => endpoint(ctx, ends(ctx, o.v)[0], o.at),
      to: (o: LinkObj, _a: Args, ctx: ApiContext) => endpoint(ctx, ends(ctx, o.v)[1], o.at),
      confidence: (o: LinkObj) => (o.v.props as LinkProps).confidence,
      rules: (o: LinkObj) => (o.v.props as LinkProps).rules ?? [],
      matched: (o: LinkObj) =>
        Object.fromEntries(
          ((o.v.props as LinkProps).rules ?? []).map((r: RuleEvidence) => [r.rule, r.matched]),
        ),
      policy: (o: LinkObj) => (o.v.props as LinkProps).policy,
      ...times,
    },
    Explanation: {
      a: (o: { ids: string[]; at: TimePoint }, _a: Args, ctx: ApiContext) =>
        endpoint(ctx, o.ids[0], o.at),
      b: (o: { ids: string[]; at: TimePoint }, _a: Args, ctx: ApiContext) =>
        endpoint(ctx, o.ids[1], o.at),
    },
    RuleEvidence: { detail: (r: RuleEvidence) => r.detail ?? null },
    Relationship: {
      id: (o: RelObj) => o.v.id,
      type: (o: RelObj) => o.v.label,
      iterationId: (o: RelObj) => o.v.iteration_id,
      from: (o: RelObj, _a: Args, ctx: ApiContext) => endpoint(ctx, o.v.from, o.at),
      to: (o: RelObj, _a: Args, ctx: ApiContext) => endpoint(ctx, o.v.to, o.at),
      ...times,
    },
    DeadLetter: {
      id: (l: DeadLetter) => letterId(l),
      payload: (l: DeadLetter) => l.payload_encoding === "utf8" ? redact(l.payload) : l.payload,
      payloadEncoding: (l: DeadLetter) => l.payload_encoding,
    },
  };
}

export { entityObjs };
