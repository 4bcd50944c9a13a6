/**
 * The API's scalars (`Time`, `JSON`), its opaque cursors and page arguments.
 * @module
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";

/** A user error in a request: a GraphQL error with this message, code BAD_USER_INPUT. */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i;
const TIME =
  "an ISO 8601 time with an offset (2025-01-06T09:00:00Z), a date, or epoch milliseconds";

/** Epoch ms of a Time input: ISO 8601 with an offset (or a date: midnight UTC), or epoch ms. */
export function parseTime(value: unknown): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string") {
    if (/^-?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
    if (ISO.test(value)) {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  throw badInput(`${JSON.stringify(value)} is not ${TIME}`);
}

export const Time = new GraphQLScalarType<number, string>({
  name: "Time",
  serialize: (ms) => new Date(ms as number).toISOString(),
  parseValue: parseTime,
  parseLiteral(node) {
    if (node.kind === Kind.STRING) return parseTime(node.value);
    if (node.kind === Kind.INT) return parseTime(Number(node.value));
    throw badInput(`a Time is a string or an integer, not ${node.kind}`);
  },
});

function literal(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literal(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(
        node.fields.map((f) => [f.name.value, literal(f.value, variables)]),
      );
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      return undefined;
  }
}

export const JSONScalar = new GraphQLScalarType({
  name: "JSON",
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literal,
});

/** An opaque cursor: base64url of `[list, ...key]`, so a cursor of one list is refused by another. */
export function encodeCursor(list: string, key: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify([list, key]));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** The key of a cursor of `list`; a bad input error otherwise. */
export function decodeCursor<T>(list: string, cursor: string, valid: (key: unknown) => boolean): T {
  let parsed: unknown;
  try {
    const text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    parsed = JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed[0] !== list || !valid(parsed[1])) {
    throw badInput(`"after" is not a cursor of this list (${list}): pass an endCursor it gave`);
  }
  return parsed[1] as T;
}

export const isString = (k: unknown): k is string => typeof k === "string";
export const isLinkCursor = (k: unknown) =>
  Array.isArray(k) && k.length === 3 && typeof k[0] === "number" && isString(k[1]) &&
  isString(k[2]);
export const isStrings = (n: number) => (k: unknown) =>
  Array.isArray(k) && k.length === n && k.every(isString);

/** The page size a list is asked for: `first`, else the default, within the limit. */
export function pageSize(first: number | null | undefined, max: number, fallback = 20): number {
  if (first === null || first === undefined) return Math.min(fallback, max);
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw badInput(`"first" must be a whole number from 0 to ${max}, got ${first}`);
  }
  return first;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * A connection from the rows a store gave for a page of `first` asked as `first + 1` (the extra
 * row says there is a next page); `node` may drop a row (an endpoint with no version then).
 */
export function connection<R, T>(
  rows: R[],
  first: number,
  list: string,
  key: (row: R) => unknown,
  node: (row: R) => T | undefined,
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.flatMap((r) => {
    const n = node(r);
    return n === undefined ? [] : [{ cursor: encodeCursor(list, key(r)), node: n }];
  });
  const last = page.at(-1);
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: rows.length > first,
      endCursor: last === undefined ? null : encodeCursor(list, key(last)),
    },
  };
}
