/**
 * Rule test files (`rules/tests/*.yaml`): the schema, loading with positions, the checks against
 * the compiled spec (labels, rule ids, event types, streams), and the cases resolved into events
 * ready to evaluate. Every problem is reported at once as `file:line:column  path  message`.
 * @module
 */
import { dirname, resolve } from "node:path";
import {
  loadYaml,
  readConfigFile,
  shortName,
  type SpecError,
  validate,
  yamlPath,
} from "../yaml/mod.ts";
import { didYouMean } from "../core/did_you_mean.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import { type Endpoint, type EventInput, readJsonl } from "./evaluate.ts";
import { type Arrival, ruleTestFileSchema } from "./schema.ts";

export type { Arrival };

export type Confidence = number | { min?: number; max?: number };

export interface Expectation {
  left: Endpoint;
  right: Endpoint;
  rules?: string[];
  confidence?: Confidence;
  /** `file:line` of the entry. */
  at: string;
}

export interface Forbidden {
  left: Endpoint;
  right: Endpoint;
  rules?: string[];
  at: string;
}

export interface ResolvedCase {
  file: string;
  name: string;
  line: number;
  /** In written order, defaults filled in; `origins[i]` says where event i was written. */
  events: EventInput[];
  origins: string[];
  arrival: Arrival[];
  batchSize: number;
  allowDeadLetters: boolean;
  exhaustive: boolean;
  expect: Expectation[];
  forbid: Forbidden[];
}

const PRODUCER = "ics-test";

/** Load, validate and resolve one rule test file against a compiled spec. */
export async function loadRuleTests(
  path: string,
  spec: CompiledSpec,
): Promise<{ cases: ResolvedCase[]; errors: SpecError[] }> {
  const file = shortName(path);
  const text = await readConfigFile(path, file, "rule test files");
  if (typeof text !== "string") return { cases: [], errors: [text] };
  const loaded = loadYaml(file, text, (n) => Deno.env.get(n));
  const checked = validate(ruleTestFileSchema, loaded);
  if (!checked.value) return { cases: [], errors: checked.errors };
  const errors: SpecError[] = [];
  const at = (p: PropertyKey[], message: string, key = false) =>
    errors.push({
      file,
      ...(key ? loaded.locateKey(p) : loaded.locate(p)),
      path: yamlPath(p),
      message,
    });
  const line = (p: PropertyKey[]) => `${file}:${loaded.locate(p).line}`;
  const value = checked.value;
  const labels = spec.entities.map((e) => e.label);
  const rules = spec.rules.map((r) => r.id);
  const types = [...spec.streamOfEventType.keys()];

  const checkDefaults = (d: Record<string, unknown>, p: PropertyKey[]) => {
    for (const s of Object.keys(d)) {
      if (!spec.streams.has(s)) {
        at(
          [...p, s],
          `"${s}" is not a stream of the spec${hint(s, [...spec.streams.keys()])}`,
          true,
        );
      }
    }
  };
  const checkEndpoint = (text: string, p: PropertyKey[]) => {
    const label = text.slice(0, text.indexOf(":"));
    if (!labels.includes(label)) {
      at(p, `"${label}" is not an entity defined in entities${hint(label, labels)}`);
    }
  };
  const checkRules = (ids: string[] | undefined, p: PropertyKey[]) =>
    ids?.forEach((id, k) => {
      if (!rules.includes(id)) {
        at([...p, k], `"${id}" is not a rule of the policy${hint(id, rules)}`);
      }
    });
  checkDefaults(value.defaults, ["defaults"]);

  const names = new Map<string, number>();
  const cases: ResolvedCase[] = [];
  for (const [c, tc] of value.cases.entries()) {
    const base: PropertyKey[] = ["cases", c];
    if (names.has(tc.name)) {
      at(
        [...base, "name"],
        `duplicate case name "${tc.name}" (first at line ${names.get(tc.name)})`,
      );
    }
    names.set(tc.name, loaded.locate([...base, "name"]).line);
    if (tc.expect.length + tc.forbid.length === 0 && !tc.exhaustive) {
      at(base, "a case needs expect, forbid or exhaustive: true");
    }
    checkDefaults(tc.defaults, [...base, "defaults"]);
    const start = typeof tc.start === "number" ? tc.start : Date.parse(tc.start);
    if (Number.isNaN(start)) at([...base, "start"], `"${tc.start}" is not an ISO 8601 time`);

    const events: EventInput[] = [];
    const origins: string[] = [];
    for (const [i, e] of tc.events.entries()) {
      const p = [...base, "events", i];
      if (Object.hasOwn(e, "file") && Object.keys(e).length === 1) {
        const rel = String(e.file);
        const lines = await readJsonl(resolve(dirname(path), rel)).catch(() => undefined);
        if (!lines) {
          at([...p, "file"], `file "${rel}" cannot be read (paths are relative to ${file})`);
        }
        lines?.forEach((l, n) => (events.push(l), origins.push(`${rel} record ${n + 1}`)));
        continue;
      }
      const type = e.event_type;
      const stream = typeof type === "string" ? spec.streamOfEventType.get(type) : undefined;
      if (typeof type !== "string") {
        at(p, `an event needs an event_type (or write { file: x.jsonl })`);
      } else if (!stream) {
        at(
          [...p, "event_type"],
          `"${type}" is not an event type of any stream${hint(type, types)}`,
        );
      }
      const filled: Record<string, unknown> = {
        event_id: `e${i + 1}`,
        iteration_id: tc.iteration,
        timestamp: start + i * 1000,
        producer: PRODUCER,
        ...(stream ? value.defaults[stream] : {}),
        ...(stream ? tc.defaults[stream] : {}),
        ...e,
      };
      if (typeof filled.timestamp === "string") {
        const ms = Date.parse(filled.timestamp);
        if (Number.isNaN(ms)) {
          at([...p, "timestamp"], `"${filled.timestamp}" is not an ISO 8601 time or epoch ms`);
        }
        filled.timestamp = ms;
      }
      events.push(filled);
      origins.push(`${line(p)} (events[${i}])`);
    }

    const endpoints = (
      x: { left: string; right: string; iteration?: string },
      p: PropertyKey[],
    ) => {
      checkEndpoint(x.left, [...p, "left"]);
      checkEndpoint(x.right, [...p, "right"]);
      const iteration = x.iteration ?? tc.iteration;
      return { left: parseEndpoint(x.left, iteration), right: parseEndpoint(x.right, iteration) };
    };
    const expect = tc.expect.map((x, k) => {
      const p = [...base, "expect", k];
      checkRules(x.rules, [...p, "rules"]);
      return { ...endpoints(x, p), rules: x.rules, confidence: x.confidence, at: line(p) };
    });
    const forbid = tc.forbid.map((x, k) => {
      const p = [...base, "forbid", k];
      checkRules(x.rules, [...p, "rules"]);
      return { ...endpoints(x, p), rules: x.rules, at: line(p) };
    });
    cases.push({
      file,
      name: tc.name,
      line: loaded.locate(base).line,
      events,
      origins,
      arrival: [...new Set(tc.arrival)],
      batchSize: tc.batch_size,
      allowDeadLetters: tc.allow_dead_letters,
      exhaustive: tc.exhaustive,
      expect,
      forbid,
    });
  }
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return errors.length ? { cases: [], errors } : { cases, errors };
}

/** `Label:key` (multi-field key joined by `|`) within an iteration. */
export function parseEndpoint(text: string, iteration_id: string): Endpoint {
  const i = text.indexOf(":");
  return { label: text.slice(0, i), iteration_id, key: text.slice(i + 1).split("|") };
}

function hint(word: string, candidates: string[]): string {
  const h = didYouMean(word, candidates);
  return h ? ` (did you mean "${h}"?)` : "";
}
