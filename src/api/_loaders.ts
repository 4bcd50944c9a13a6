/**
 * Per-request batching (DataLoader): the fields of a page of entities ask for their versions,
 * neighbours, links and counts one by one; each kind of question is sent to the store once per
 * tick for every entity asking, per time point and arguments. So a nested query costs a few store
 * calls per level, not one per entity (no N+1).
 * @module
 */
import DataLoader from "dataloader";
import type {
  GraphStore,
  IterationCounts,
  LinkCursor,
  LinkFilter,
  TimePoint,
} from "../core/component.ts";
import type { Version } from "../core/types.ts";

export interface Loaders {
  /** The version of an entity at the time point (null: none). */
  node: DataLoader<string, Version | null>;
  counts: DataLoader<string, IterationCounts>;
  /** A page (`first` rows) of relationship versions of a type from or to an entity. */
  relationshipsOf(
    type: string,
    direction: "out" | "in",
    first: number,
    after?: string,
  ): DataLoader<string, Version[]>;
  /** A page of an entity's links. */
  linksOf(filter: LinkFilter, first: number, after?: LinkCursor): DataLoader<string, Version[]>;
  /** An entity's node versions believed at the time point's known_at (or ever: history). */
  versions(history: boolean): DataLoader<string, Version[]>;
}

/**
 * Loaders of a request: one set per time point. `guard` runs before every store call (it throws
 * once the request has timed out, so a slow query stops asking the store).
 */
export function createLoaders(store: GraphStore, guard: () => void): (at: TimePoint) => Loaders {
  const points = new Map<string, Loaders>();
  return (at) => {
    const key = `${at.valid_at ?? ""}|${at.known_at ?? ""}`;
    let loaders = points.get(key);
    if (!loaders) points.set(key, loaders = pointLoaders(store, at, guard));
    return loaders;
  };
}

function pointLoaders(store: GraphStore, at: TimePoint, guard: () => void): Loaders {
  const relLoaders = new Map<string, DataLoader<string, Version[]>>();
  const linkLoaders = new Map<string, DataLoader<string, Version[]>>();
  const versionLoaders = new Map<boolean, DataLoader<string, Version[]>>();
  return {
    node: new DataLoader(async (ids) => {
      guard();
      const found = new Map(
        (await store.readNodes({ ...at, ids: [...ids] })).map((v) => [v.id, v]),
      );
      return ids.map((id) => found.get(id) ?? null);
    }),
    counts: new DataLoader(async (its) => {
      guard();
      return await Promise.all(
        its.map((iteration_id) => store.countIteration({ ...at, iteration_id })),
      );
    }),
    relationshipsOf(type, direction, first, after) {
      const k = JSON.stringify([type, direction, first, after]);
      let l = relLoaders.get(k);
      if (!l) {
        relLoaders.set(
          k,
          l = new DataLoader(async (ids) => {
            guard();
            const got = await store.relationshipsOf({
              ...at,
              ids: [...ids],
              type,
              direction,
              first,
              after,
            });
            return ids.map((id) => got.get(id) ?? []);
          }),
        );
      }
      return l;
    },
    linksOf(filter, first, after) {
      const k = JSON.stringify([
        filter.rule,
        filter.min_confidence,
        filter.max_confidence,
        first,
        after,
      ]);
      let l = linkLoaders.get(k);
      if (!l) {
        linkLoaders.set(
          k,
          l = new DataLoader(async (ids) => {
            guard();
            const got = await store.linksOf({ ...at, ...filter, ids: [...ids], first, after });
            return ids.map((id) => got.get(id) ?? []);
          }),
        );
      }
      return l;
    },
    versions(history) {
      let l = versionLoaders.get(history);
      if (!l) {
        versionLoaders.set(
          history,
          l = new DataLoader(async (ids) => {
            guard();
            const all = await store.query({
              kind: "node",
              ids: [...ids],
              ...(history ? { history: true } : { known_at: at.known_at }),
            });
            const by = new Map<string, Version[]>(ids.map((id) => [id, []]));
            for (const { observations: _, ...v } of all) by.get(v.id)?.push(v);
            for (const list of by.values()) {
              list.sort((a, b) => a.valid_from - b.valid_from || a.observed_at - b.observed_at);
            }
            return ids.map((id) => by.get(id)!);
          }),
        );
      }
      return l;
    },
  };
}
