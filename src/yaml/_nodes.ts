/**
 * Checks on a parsed YAML document that the parser leaves to us, each one pass over the nodes
 * (the parser's own duplicate-key check and alias resolution are quadratic: a 60,000-key file took
 * minutes): duplicate keys, and aliases (unknown, recursive, too many, or expanding the document
 * too far: the "billion laughs"), each positioned at the offending node.
 * @module
 */
import { isAlias, isMap, isNode, isPair, isScalar, isSeq } from "yaml";
import type { Alias, Document, Node } from "yaml";

/** Most aliases one file may hold (the shipped files hold none). */
export const MAX_ALIASES = 1000;
/** Most values aliases may add to a document by repeating what they refer to. */
export const MAX_ALIAS_VALUES = 100_000;

export interface NodeProblem {
  node: Node;
  path: PropertyKey[];
  message: string;
}

export function keyOf(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

/** Every repeated key of every mapping (scalar keys, compared by value), at the repeated key. */
export function duplicateKeys(root: unknown): NodeProblem[] {
  const problems: NodeProblem[] = [];
  const walk = (node: unknown, path: PropertyKey[]) => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const at = [...path, keyOf(pair.key)];
        if (seen.has(key) && isNode(pair.key)) {
          problems.push({
            node: pair.key,
            path: at,
            message: `duplicate key ${JSON.stringify(keyOf(pair.key))}`,
          });
        }
        seen.add(key);
        walk(pair.value, at);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(root, []);
  return problems;
}

/**
 * The node each alias refers to (the last anchor of its name before it, as YAML says) and the
 * problems with aliases, in document order.
 */
export function resolveAliases(doc: Document): {
  targets: Map<Alias, Node>;
  problems: NodeProblem[];
} {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  const problems: NodeProblem[] = [];
  /** Values a finished node stands for, aliases expanded. */
  const size = new Map<Node, number>();
  /** Collections being walked: an alias to one of them is inside what it refers to. */
  const open = new Set<Node>();
  let aliases = 0;
  let added = 0;
  const walk = (node: unknown, path: PropertyKey[]): number => {
    if (isAlias(node)) {
      const problem = (message: string) => (problems.push({ node, path, message }), 1);
      if (++aliases === MAX_ALIASES + 1) problem(`more than ${MAX_ALIASES} aliases in one file`);
      const target = anchors.get(node.source);
      if (!target) return problem(`unknown alias "*${node.source}"`);
      targets.set(node, target);
      if (open.has(target)) return problem(`alias "*${node.source}" is inside what it refers to`);
      const n = size.get(target) ?? 1;
      if (added <= MAX_ALIAS_VALUES && (added += n) > MAX_ALIAS_VALUES) {
        problem(
          `alias "*${node.source}" makes the aliases repeat more than ${MAX_ALIAS_VALUES} values ` +
            "(an alias bomb?)",
        );
      }
      return n;
    }
    if (!isNode(node)) return 0;
    if (node.anchor) anchors.set(node.anchor, node);
    let n = 1;
    if (isMap(node) || isSeq(node)) {
      open.add(node);
      node.items.forEach((item: unknown, i: number) => {
        if (isPair(item)) {
          n += walk(item.key, path) + walk(item.value, [...path, keyOf(item.key)]);
        } else n += walk(item, [...path, i]);
      });
      open.delete(node);
    }
    size.set(node, n);
    return n;
  };
  walk(doc.contents, []);
  return { targets, problems };
}
