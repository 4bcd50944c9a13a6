/**
 * Planted pairs and near misses, one kind per correlation of EVENTS.md ("Correlations the shipped
 * policy must find"), each with its ground truth: the two entities, named by a value that
 * identifies them in the graph (a node's key or property, paths normalised).
 *
 * Every entity of a plant keeps one identity on all its events (the same subject fields; a path's
 * noise varies). Link fields (a scenario's `contract_id`, tags or name, `metadata.dde_node_id`, a
 * contract's name and version) are carried by one event; the entity's other events leave them
 * absent, `null`, or repeat them, never contradict them.
 * @module
 */
import type { MissModel, PlantModel } from "./_model.ts";
import {
  echo,
  entity,
  type IterationContext,
  metadataWith,
  noisy,
  normPath,
  pick,
  startOf,
} from "./_event.ts";
import { PACKAGES } from "./_words.ts";
import type { EntityBits, EventBits } from "./_model.ts";

export type Family = "explicit_id" | "file_path_exact" | "file_path_fuzzy" | "tag" | "heuristic";
export const FAMILIES: Family[] = [
  "explicit_id",
  "file_path_exact",
  "file_path_fuzzy",
  "tag",
  "heuristic",
];

/** An entity as the checks find it: its label and a value that identifies it. */
export interface Ref {
  label: string;
  value: string;
}

export interface Pair {
  family: Family;
  /** The kind of plant or near miss, e.g. `fuzzy.module_name`. */
  shape: string;
  iteration_id: string;
  left: Ref;
  right: Ref;
}

const TASK = ["TASK_STARTED", "TASK_COMPLETED", "TASK_FAILED", "TASK_RETRYING"];
const ARTIFACT = ["ARTIFACT_CREATED", "ARTIFACT_VALIDATED"];
const CONTRACT = ["CONTRACT_LOCKED", "CONTRACT_VALIDATED"];
const FEATURE = ["FEATURE_STARTED", "FEATURE_COMPLETED"];
const SCENARIO = [
  "SCENARIO_PASSED",
  "SCENARIO_FAILED",
  "SCENARIO_SKIPPED",
  "CONTRACT_TAG_DETECTED",
  "FLAKE_DETECTED",
];

const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
/** The absent branch of a field: absent or null, by the event's echo choice. */
const none = (e: EventBits) => e.echo === 1 ? null : undefined;

/** Names of one module: its file, its dotted name, its feature file. */
function names(words: string[], pkgIdx: number[], rooted: boolean, deepFeature: boolean) {
  const stem = words.join("_");
  const pkgs = pkgIdx.map((k) => pick(PACKAGES, k));
  return {
    stem,
    pkgs,
    path: [...(rooted ? ["src"] : []), ...pkgs, `${stem}.py`].join("/"),
    name: [...pkgs, stem].join("."),
    feature: ["features", ...(deepFeature ? pkgs : []), `${stem}.feature`].join("/"),
  };
}

function artifact(
  ctx: IterationContext,
  bits: EntityBits,
  start: number,
  path: string,
  id?: string,
) {
  entity(ctx, bits, start, ARTIFACT, (i, c, e) => ({
    artifact_path: noisy(path, e.path),
    artifact_id: id === undefined ? none(e) : echo(id, i, c, e),
  }));
  return { label: "Artifact", value: normPath(path) };
}

type Shape = "path" | "name" | "both";
function module(
  ctx: IterationContext,
  bits: EntityBits,
  start: number,
  shape: Shape,
  m: { path: string; name: string },
  dde_node_id?: string,
) {
  entity(ctx, bits, start, ["MODULE_ANALYZED"], (i, c, e) => ({
    module_path: shape === "name" ? none(e) : noisy(m.path, e.path),
    module_name: shape === "path" ? none(e) : m.name,
    ...(dde_node_id ? { metadata: metadataWith(e, echo(dde_node_id, i, c, e)) } : {}),
  }));
  return { label: "Module", value: shape === "name" ? m.name : normPath(m.path) };
}

function task(ctx: IterationContext, bits: EntityBits, start: number, node_id: string) {
  entity(ctx, bits, start, TASK, () => ({ node_id }));
  return { label: "Task", value: node_id };
}

function scenario(
  ctx: IterationContext,
  bits: EntityBits,
  start: number,
  scenario_id: string,
  link: { contract_id?: string; scenario_name?: string; tag?: string; dde_node_id?: string },
) {
  const carrier = bits.events[bits.carrier % bits.events.length];
  const tags = link.tag ? [...(carrier.noise.tags as string[] ?? []), link.tag] : undefined;
  entity(ctx, bits, start, SCENARIO, (i, c, e) => ({
    scenario_id,
    ...(link.contract_id ? { contract_id: echo(link.contract_id, i, c, e) } : {}),
    ...(link.scenario_name ? { scenario_name: echo(link.scenario_name, i, c, e) } : {}),
    ...(tags ? { tags: echo(tags, i, c, e) } : {}),
    ...(link.dde_node_id ? { metadata: metadataWith(e, echo(link.dde_node_id, i, c, e)) } : {}),
  }));
  return { label: "Scenario", value: scenario_id };
}

function contract(
  ctx: IterationContext,
  bits: EntityBits,
  start: number,
  contract_id: string,
  named?: { name: string; version: string },
) {
  entity(ctx, bits, start, CONTRACT, (i, c, e) => ({
    contract_id,
    ...(named
      ? {
        contract_name: echo(named.name, i, c, e),
        contract_version: echo(named.version, i, c, e),
      }
      : {}),
  }));
  return { label: "Contract", value: contract_id };
}

function feature(ctx: IterationContext, bits: EntityBits, start: number, path: string) {
  entity(ctx, bits, start, FEATURE, (_i, _c, e) => ({ feature_file: noisy(path, e.path) }));
  return { label: "Feature", value: normPath(path) };
}

/** Render a plant; returns its pairs (none when the iteration ran out of fresh words). */
export function plant(ctx: IterationContext, p: PlantModel): Pair[] {
  const words = ctx.take(p.words);
  if (!words) return [];
  const v = p.variant;
  const m = names(words, p.pkgs, p.rooted, (v & 1) === 1);
  const [sa, sb, sc] = [startOf(p.a), startOf(p.b), startOf(p.c)];
  const key = `${words.join("-")}·${p.nonce}`;
  const nodeId = [m.stem, words.join("-"), `run_${m.stem}_tests`][(v >> 1) % 3];
  const artifactId = (v >> 3) & 1 ? `art:${key}` : undefined;
  const pair = (family: Pair["family"], left: Ref, right: Ref): Pair => ({
    family,
    shape: p.kind,
    iteration_id: ctx.iteration_id,
    left,
    right,
  });
  switch (p.kind) {
    case "explicit.scenario_contract": {
      const id = `ctr:${key}`;
      const c = contract(ctx, p.b, sb, id);
      return [pair("explicit_id", scenario(ctx, p.a, sa, `scn:${key}`, { contract_id: id }), c)];
    }
    case "explicit.scenario_task": {
      const t = task(ctx, p.b, sb, nodeId);
      const s = scenario(ctx, p.a, sa, `scn:${key}`, { dde_node_id: nodeId });
      return [pair("explicit_id", s, t)];
    }
    case "explicit.module_task": {
      const t = task(ctx, p.b, sb, nodeId);
      const shape = (["path", "name", "both"] as const)[(v >> 4) % 3];
      return [pair("explicit_id", module(ctx, p.a, sa, shape, m, nodeId), t)];
    }
    case "exact": {
      const a = artifact(ctx, p.a, sa, m.path, artifactId);
      const shape = (v >> 4) & 1 ? "both" : "path";
      return [pair("file_path_exact", a, module(ctx, p.b, sb, shape, m))];
    }
    case "split": {
      // One module seen by its path and, in other events, by its dotted name: two entities,
      // each linked to the artifact by its own rule.
      const a = artifact(ctx, p.a, sa, m.path, artifactId);
      return [
        pair("file_path_exact", a, module(ctx, p.b, sb, "path", m)),
        pair("file_path_fuzzy", a, module(ctx, p.c, sc, "name", m)),
      ];
    }
    case "fuzzy.module_name": {
      // By name only: a module also seen by its path is keyed by it and linked exactly (above).
      const a = artifact(ctx, p.a, sa, m.path, artifactId);
      return [pair("file_path_fuzzy", a, module(ctx, p.b, sb, "name", m))];
    }
    case "fuzzy.feature": {
      const a = artifact(ctx, p.b, sb, m.path, artifactId);
      return [pair("file_path_fuzzy", feature(ctx, p.a, sa, m.feature), a)];
    }
    case "tag": {
      const name = words.map(cap).join("");
      const version = [`v${1 + (v % 4)}`, `${v % 7}.0.1`][(v >> 2) & 1];
      const c = contract(ctx, p.b, sb, `ctr:${key}`, { name, version });
      const tag = `@contract:${name}:${version}`;
      return [pair("tag", scenario(ctx, p.a, sa, `scn:${key}`, { tag }), c)];
    }
    case "heuristic": {
      const t = task(ctx, p.a, sa, nodeId);
      const phrase = words.join(" ");
      const scenario_name = [cap(phrase), `The ${phrase}`, words.map(cap).join(" ")][(v >> 4) % 3];
      const s = scenario(ctx, p.b, sa + p.gap, `scn:${key}`, { scenario_name });
      return [pair("heuristic", t, s)];
    }
  }
}

/** Render a near miss; returns the pair that must not be linked. */
export function nearMiss(ctx: IterationContext, n: MissModel): Pair[] {
  const words = ctx.take(n.words);
  if (!words) return [];
  const m = names(words, n.pkgs, true, false);
  const plural = names([...words.slice(0, -1), `${words.at(-1)}s`], n.pkgs, true, false);
  const [sa, sb] = [startOf(n.a), startOf(n.b)];
  const key = `${words.join("-")}·${n.nonce}`;
  const miss = (family: Pair["family"], left: Ref, right: Ref): Pair[] => [
    { family, shape: n.kind, iteration_id: ctx.iteration_id, left, right },
  ];
  switch (n.kind) {
    case "explicit.contract_id": {
      const c = contract(ctx, n.b, sb, `ctr:${key}-1`);
      const s = scenario(ctx, n.a, sa, `scn:${key}`, { contract_id: `ctr:${key}-10` });
      return miss("explicit_id", s, c);
    }
    case "exact.plural": {
      const a = artifact(ctx, n.a, sa, m.path);
      return miss("file_path_exact", a, module(ctx, n.b, sb, "path", plural));
    }
    case "fuzzy.module_name_plural": {
      const a = artifact(ctx, n.a, sa, m.path);
      return miss("file_path_fuzzy", a, module(ctx, n.b, sb, "name", plural));
    }
    case "fuzzy.feature_plural": {
      const a = artifact(ctx, n.b, sb, m.path);
      return miss("file_path_fuzzy", feature(ctx, n.a, sa, plural.feature), a);
    }
    case "tag.version": {
      const name = words.map(cap).join("");
      const c = contract(ctx, n.b, sb, `ctr:${key}`, { name, version: "v1" });
      const s = scenario(ctx, n.a, sa, `scn:${key}`, { tag: `@contract:${name}:v2` });
      return miss("tag", s, c);
    }
  }
}
