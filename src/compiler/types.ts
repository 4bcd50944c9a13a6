/**
 * What the compiler produces: a {@link CompiledSpec}, plain data plus the compiled rules, ready
 * for the runtime. Types only (every import here is `import type`), so the stages that consume a
 * compiled spec (codecs, mapping, the API) depend on this leaf and not on the compiler, whose
 * schema imports every component's registry.
 * @module
 */
import type avro from "avsc";
import type { Rule } from "../correlation/mod.ts";
import type { PipelineSpec, RuleSpec } from "./_schema.ts";

export interface CompiledStream {
  name: string;
  topic: string;
  schemaFile: string;
  type: avro.Type;
  eventTypes: string[];
  /**
   * Idempotency key fields per event type: `dedup.key` where given, else derived from the
   * mapping (README, "Identity and idempotency"): iteration_id, event_type, the natural key fields of every entity and
   * relationship the event type is mapped to, timestamp.
   */
  dedupKeys: Map<string, string[]>;
  /**
   * The key fields of the format before keys were derived from the mapping (one id field per
   * stream), so dedup state written by an older version is still found (see `src/dedup`).
   */
  legacyKey: string[];
  /** Fields whose values make up an event's content digest: all but event_id. */
  digestFields: string[];
  /**
   * Fields holding identifiers: event_id, iteration_id and every field forming an entity or
   * endpoint key of this stream. The decoder refuses control characters in them.
   */
  idFields: string[];
  /** Fields holding repo-relative paths (`validation.path_fields`): no `..`, not absolute. */
  pathFields: string[];
}

/**
 * Alternative natural keys, tried in order: the first whose fields are all present (non-blank)
 * names the entity. One alternative for a plain `key: [fields]`.
 */
export type KeyAlternatives = string[][];

export interface EntityMapping {
  label: string;
  stream: string;
  eventTypes: Set<string>;
  keys: KeyAlternatives;
  /** Property name → event field. Key fields (of every alternative) are properties too. */
  properties: { name: string; field: string }[];
  /** Path fields of the stream: their values are normalised where they form a key. */
  pathFields: Set<string>;
}

export interface RelationshipMapping {
  type: string;
  stream: string;
  eventTypes: Set<string>;
  from: { label: string; keys: KeyAlternatives };
  to: { label: string; keys: KeyAlternatives };
  pathFields: Set<string>;
}

export interface CompiledSpec {
  file: string;
  dir: string;
  spec: PipelineSpec;
  streams: Map<string, CompiledStream>;
  /** event_type symbol → stream name (symbols are unique across streams). */
  streamOfEventType: Map<string, string>;
  entities: EntityMapping[];
  relationships: RelationshipMapping[];
  rules: Rule[];
  ruleSpecs: RuleSpec[];
  /** The rule files the globs matched (absolute paths). */
  ruleFiles: string[];
  combine: "max" | "noisy_or";
  min_confidence: number;
  /** Stable hash of the correlation policy: the rules, how they combine and the threshold. */
  policy: string;
}
