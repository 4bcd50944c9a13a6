/**
 * Resolvers of the entity types: the fields every entity has, its declared properties (coerced to
 * their GraphQL type), its relationship fields both ways and its links, each list through the
 * request's loaders (batched per level, one page per entity).
 * @module
 */
import type { LinkCursor, TimePoint } from "../core/component.ts";
import type { Version } from "../core/types.ts";
import type { ApiContext } from "./_context.ts";
import type { FieldKind, LabelModel, RelationshipField } from "./_model.ts";
import {
  connection,
  decodeCursor,
  isLinkCursor,
  isString,
  isStrings,
  pageSize,
} from "./_values.ts";

/** An entity as the resolvers pass it on: one version, and the time point it was read at. */
export interface EntityObj {
  v: Version;
  at: TimePoint;
}

export interface LinkObj {
  v: Version;
  at: TimePoint;
}

type Args = Record<string, unknown>;

/** `Label:iteration:key`, as the command line writes an entity. */
export const formatRef = (e: { label: string; iteration_id: string; key: string[] }) =>
  `${e.label}:${e.iteration_id}:${e.key.join("|")}`;
type Resolver<T> = (obj: T, args: Args, ctx: ApiContext) => unknown;

export interface LinkArgs {
  rule?: string | null;
  minConfidence?: number | null;
  maxConfidence?: number | null;
  first?: number | null;
  after?: string | null;
}

export const linkFilter = (a: LinkArgs) => ({
  rule: a.rule ?? undefined,
  min_confidence: a.minConfidence ?? undefined,
  max_confidence: a.maxConfidence ?? undefined,
});

export const linkCursor = (v: Version): LinkCursor => [
  v.props.confidence as number,
  v.from!,
  v.to!,
];

/** The `after` of a link list, decoded. */
export const linkAfter = (after: string | null | undefined) =>
  after ? decodeCursor<LinkCursor>("links", after, isLinkCursor) : undefined;

/** A page of entities of a label, or null ones dropped (no version at the time point). */
export function entityObjs(versions: (Version | null | Error)[], at: TimePoint): EntityObj[] {
  return versions.flatMap((v) => v && !(v instanceof Error) ? [{ v, at }] : []);
}

/** The time point arguments of a root. */
export interface When {
  asOf?: number | null;
  knownAt?: number | null;
}

/** The time point a root's arguments name. */
export const point = (a: When): TimePoint => ({
  ...(a.asOf !== null && a.asOf !== undefined ? { valid_at: a.asOf } : {}),
  ...(a.knownAt !== null && a.knownAt !== undefined ? { known_at: a.knownAt } : {}),
});

/** An entity at a time point, through the request's loaders (null: no version there). */
export const endpoint = async (
  ctx: ApiContext,
  id: string | undefined,
  at: TimePoint,
): Promise<EntityObj | null> => {
  if (id === undefined) return null;
  const v = await ctx.loaders(at).node.load(id);
  return v ? { v, at } : null;
};

/** The fields every entity type has. */
export const entityFields: Record<string, Resolver<EntityObj>> = {
  id: (o) => o.v.id,
  label: (o) => o.v.label,
  iterationId: (o) => o.v.iteration_id,
  key: (o) => o.v.key,
  ref: (o) => formatRef(o.v),
  validFrom: (o) => o.v.valid_from,
  validTo: (o) => o.v.valid_to,
  observedAt: (o) => o.v.observed_at,
  supersededAt: (o) => o.v.superseded_at,
  properties: (o) => o.v.props,
  async links(o, args, ctx) {
    const a = args as LinkArgs;
    const first = pageSize(a.first, ctx.maxPage);
    const rows = await ctx.loaders(o.at).linksOf(linkFilter(a), first + 1, linkAfter(a.after))
      .load(o.v.id);
    return connection(rows, first, "links", linkCursor, (v): LinkObj => ({ v, at: o.at }));
  },
  async versions(o, args, ctx) {
    const first = pageSize(args.first as number | null, ctx.maxPage);
    const after = args.after
      ? decodeCursor<[string, string]>("versions", args.after as string, isStrings(2))
      : undefined;
    const all = await ctx.loaders(o.at).versions(args.history === true).load(o.v.id);
    const key = (v: Version): [string, string] => [String(v.valid_from), String(v.observed_at)];
    const rest = after
      ? all.filter((v) =>
        v.valid_from > Number(after[0]) ||
        (v.valid_from === Number(after[0]) && v.observed_at > Number(after[1]))
      )
      : all;
    return connection(rest.slice(0, first + 1), first, "versions", key, (v) => ({ v, at: o.at }));
  },
};

/** A stored value as the GraphQL type its property is declared with (null when it is not one). */
export function coerce(value: unknown, type: FieldKind): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "String":
      return typeof value === "string"
        ? value
        : typeof value === "number" || typeof value === "boolean"
        ? String(value)
        : JSON.stringify(value);
    case "Int":
      return Number.isInteger(value) && Math.abs(value as number) <= 2 ** 31 - 1 ? value : null;
    case "Float":
      return typeof value === "number" ? value : null;
    case "Boolean":
      return typeof value === "boolean" ? value : null;
    case "JSON":
      return value;
    default: {
      const item = type.slice(1, -1) as FieldKind;
      return Array.isArray(value) ? value.map((x) => coerce(x, item)) : null;
    }
  }
}

function relationshipField(r: RelationshipField): Resolver<EntityObj> {
  const list = `${r.type}:${r.direction}`;
  const other = (v: Version) => r.direction === "out" ? v.to! : v.from!;
  return async (o, args, ctx) => {
    const first = pageSize(args.first as number | null, ctx.maxPage);
    const after = args.after
      ? decodeCursor<string>(list, args.after as string, isString)
      : undefined;
    const loaders = ctx.loaders(o.at);
    const rels = await loaders.relationshipsOf(r.type, r.direction, first + 1, after).load(o.v.id);
    const nodes = await loaders.node.loadMany(rels.slice(0, first).map(other));
    const found = new Map(entityObjs(nodes, o.at).map((e) => [e.v.id, e]));
    return connection(rels, first, list, other, (v) => found.get(other(v)));
  };
}

/** The resolvers of one label's type. */
export function labelResolvers(l: LabelModel): Record<string, Resolver<EntityObj>> {
  const out: Record<string, Resolver<EntityObj>> = { ...entityFields };
  for (const p of l.properties) out[p.field] = (o) => coerce(o.v.props[p.name], p.type);
  for (const r of l.relationships) out[r.field] = relationshipField(r);
  return out;
}
