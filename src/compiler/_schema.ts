/**
 * The spec's schema: the single source of the validator, the TypeScript types and the JSON Schema
 * files editors use (`deno task schema`). Component configs come from the components themselves.
 * @module
 */
import { z } from "zod";
import { ruleSchema } from "../correlation/kinds.ts";
import { qualitySchema } from "./_quality.ts";
import { targetSources } from "../sources/mod.ts";
import { dedupStores } from "../dedup/mod.ts";
import { DURABILITIES } from "../core/durable.ts";
import { deadLetterQueues, graphStores, metricsStores } from "../sinks/mod.ts";

import {
  LABEL,
  PROPERTY,
  REL_TYPE,
  RESERVED_LABELS,
  RESERVED_PROPERTIES,
  RESERVED_TYPES,
} from "../core/identifiers.ts";

// Labels, relationship types and property names become names in the stores (labels and types are
// spliced into Cypher): strict patterns, and never a name the stores use for themselves.
const label = z.string()
  .regex(
    LABEL,
    "must be a label such as Task: a capital letter, then at most 63 letters and digits",
  )
  .refine((l) => !RESERVED_LABELS.has(l), {
    error: (i) => `"${i.input}" is reserved for the graph store's own nodes`,
  });
const relType = z.string()
  .regex(
    REL_TYPE,
    "must be a relationship type such as HAS_TASK: a capital letter, then at most 63 of A-Z, 0-9, _",
  )
  .refine((t) => !RESERVED_TYPES.has(t), {
    error: (i) => `"${i.input}" is reserved for the graph store's own relationships`,
  });
/** Also used for names derived from fields (`metadata.x` → `x`) by the compiler. */
export const propertyName = z.string()
  .regex(
    PROPERTY,
    "must be a property name such as dde_node_id: a-z or _, then at most 63 of a-z, 0-9, _",
  )
  .refine((p) => !RESERVED_PROPERTIES.has(p), {
    error: (i) => `"${i.input}" is reserved for the graph store's own fields`,
  });
const FIELD = /^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_-]+)?$/;

const field = z.string().regex(
  FIELD,
  "must be a field name such as node_id or metadata.dde_node_id",
);
const streamName = z.string().regex(/^[a-z][a-z0-9_]*$/, "must be a lower-case identifier");

const stream = z.strictObject({
  schema: z.string().min(1).describe("Avro schema file (.avsc) of the stream's events."),
  topic: z.string().min(1).describe("Kafka topic of the stream."),
}).describe("An event stream.");

const when = z.strictObject({
  event_type: z.array(z.string().min(1)).min(1).describe("Event types this mapping applies to."),
}).describe("Which events a mapping applies to.");

const property = z.union([
  field.describe("An event field, stored under its own name."),
  z.strictObject({
    name: propertyName,
    field: field,
  }).describe("An event field stored under another name (e.g. a metadata entry)."),
]);

/** One natural key: event fields, in order. */
const fields = z.array(field).min(1);

/**
 * A natural key, or alternatives: `[module_path]`, or `first_of: [[module_path], [module_name]]`
 * (the first alternative whose fields are all present names the entity).
 */
const key = z.union([
  fields.describe("Event fields forming the natural key (with the iteration), in order."),
  z.strictObject({
    first_of: z.array(fields).min(2).describe(
      "Alternative keys, tried in order: the first whose fields are all present names the " +
        "entity (e.g. a module by its path, else by its dotted name).",
    ),
  }).describe("Alternative natural keys."),
]);

const entity = z.strictObject({
  stream: streamName.describe("Stream whose events create or update this entity."),
  when,
  key: key.describe(
    "The natural key (with the iteration): event fields, or first_of alternatives. Values of " +
      "path fields (validation.path_fields) are normalised.",
  ),
  properties: z.array(property).default([]).describe("Event fields copied onto the node."),
}).describe("A node label and how events map to it.");

const endpoint = z.strictObject({
  entity: label,
  key: key.optional().describe(
    "Event fields giving the entity's natural key (or first_of alternatives); default: the " +
      "entity's own key declaration, read from this event.",
  ),
});

const relationship = z.strictObject({
  type: relType,
  stream: streamName,
  when,
  from: endpoint,
  to: endpoint,
}).describe("A structural relationship asserted by events of one stream.");

const target = z.strictObject({
  source: byType(targetSources).describe("Where events come from."),
  dedup: byType(dedupStores).describe("Where idempotency keys are kept."),
  graph: byType(graphStores).describe("Where the bi-temporal graph is written."),
  metrics: byType(metricsStores).describe("Where event metrics are written."),
  dlq: byType(deadLetterQueues).describe("Where dead letters go."),
  runtime: z.strictObject({
    max_iterations_in_memory: z.number().int().min(1).optional().describe(
      "Overrides runtime.max_iterations_in_memory for this target: how many iterations to keep " +
        "depends on what reloading one costs (a local SQLite read, or a Neo4j query).",
    ),
  }).optional().describe("Runtime settings that differ for this target."),
}).describe("Where the pipeline runs: one component per role.");

/**
 * A role's configs, one per component of its registry, told apart by `type:`: registering a
 * component is all it takes for targets (and the JSON Schema) to accept it.
 */
function byType<R extends Record<string, { schema: z.core.$ZodTypeDiscriminable }>>(registry: R) {
  const [first, ...rest] = Object.values(registry).map((c): R[keyof R]["schema"] => c.schema);
  return z.discriminatedUnion("type", [first, ...rest]);
}

const observability = z.strictObject({
  http_port: z.number().int().min(0).max(65_535).optional().describe(
    "Port of /metrics, /healthz and /readyz; 0 turns them off. Unset: 8000 when the source is a " +
      "log (a long-running service), off for a file source (a short run; two at once must not " +
      "fight over a port). `run --metrics-port` overrides.",
  ),
  http_host: z.string().min(1).default("0.0.0.0").describe("Address the endpoint listens on."),
  tracing: z.strictObject({
    // "true"/"false" too: the value usually comes from an environment variable.
    enabled: z.preprocess(
      (v) => v === "true" ? true : v === "false" ? false : v,
      z.boolean(),
    ).default(false).describe(
      "Export OpenTelemetry spans: one per batch and stage, linked to each event's producer span.",
    ),
    otlp_endpoint: z.string().min(1).default("http://127.0.0.1:4318").describe(
      "OTLP/HTTP collector base URL (Jaeger: port 4318); /v1/traces is appended.",
    ),
    service_name: z.string().min(1).default("ics").describe("service.name of the spans."),
    sample_ratio: z.number().min(0).max(1).default(1).describe("Share of batches traced."),
  }).prefault({}),
}).describe("Metrics endpoint and tracing.");

const api = z.strictObject({
  enabled: z.preprocess(
    (v) => v === "true" ? true : v === "false" ? false : v,
    z.boolean(),
  ).default(true).describe(
    "Serve the GraphQL API at /graphql on the endpoint of `ics run` (observability.http_port); " +
      "`run --no-api` turns it off for one run. `ics serve` serves it either way.",
  ),
  max_depth: z.number().int().min(2).max(100).default(15).describe(
    "Deepest selection a query may nest (fields within fields).",
  ),
  max_aliases: z.number().int().min(1).max(1000).default(30).describe(
    "Most aliases a query may use.",
  ),
  max_cost: z.number().int().min(1).default(200_000).describe(
    "Largest estimated cost of a query: each field costs 1, a list field `first` times what it " +
      "selects. A query over it is refused before it runs.",
  ),
  max_page_size: z.number().int().min(1).max(10_000).default(500).describe(
    "Largest `first` of a list.",
  ),
  timeout_ms: z.number().int().min(1).max(600_000).default(10_000).describe(
    "A query still running after this long is answered with an error and stops reading.",
  ),
  cors_origins: z.array(z.string().min(1)).default([]).describe(
    'Origins allowed to call the API from a browser (CORS), e.g. "https://explorer.example.com", ' +
      'or "*"; none by default: CORS off.',
  ),
}).describe("The GraphQL API (`ics serve`, and /graphql of `ics run`).");

export const pipelineSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1).describe("Spec format version."),
  streams: z.record(streamName, stream).describe("The event streams, by name."),
  dedup: z.strictObject({
    key: z.record(
      streamName,
      z.union([
        fields.describe("Key fields of every event type of the stream."),
        z.record(z.string().min(1), fields).describe("Key fields per event type."),
      ]),
    ).default({}).describe(
      "Idempotency key fields, per stream or per event type of a stream. Default, per event " +
        "type: iteration_id, event_type, the natural key fields of every entity and " +
        "relationship the event type is mapped to, timestamp (`ics validate --keys` prints them).",
    ),
    ttl_seconds: z.number().int().min(1).default(604_800).describe("How long a key is remembered."),
    on_unavailable: z.enum(["pause", "sink_idempotency"]).default("pause").describe(
      "While the dedup store (Redis) is unreachable: `pause` stops consuming and retries the " +
        "check with backoff until it is back (/readyz 503); `sink_idempotency` carries on, taking " +
        "keys as unseen (the graph and metrics writes are idempotent, so an exact replay changes " +
        "nothing), keeps the keys it commits meanwhile in memory (at most 100,000; they also " +
        "drop duplicates within the outage) and writes them to the store once it is back.",
    ),
  }).prefault({}),
  validation: z.strictObject({
    max_event_bytes: z.number().int().min(64).default(1_048_576).describe(
      "Larger payloads are dead-lettered as schema_violation.",
    ),
    min_timestamp: z.number().int().default(946_684_800_000).describe(
      "Earliest plausible event time, epoch ms (catches timestamps in seconds).",
    ),
    max_future_seconds: z.number().int().min(0).default(86_400).describe(
      "How far past the wall clock an event time may lie.",
    ),
    max_id_bytes: z.number().int().min(16).max(1024).default(512).describe(
      "Longest value (UTF-8 bytes) of event_id, iteration_id and every field forming an entity " +
        "key; longer ones are dead-lettered as schema_violation. Ids are indexed by the graph " +
        "stores, whose index keys are bounded (Neo4j: 8 KB for a link id made of two entity ids).",
    ),
    max_metadata_entries: z.number().int().min(0).default(1000).describe(
      "Events whose metadata map has more entries are dead-lettered as schema_violation.",
    ),
    path_fields: z.record(streamName, z.array(field)).default({}).describe(
      "Fields holding repo-relative paths, per stream (default: dde artifact_path, bdv " +
        "feature_file, acc module_path). A value that is absolute, has a `..` segment or a " +
        "control character is dead-lettered as schema_violation. Besides, event_id, " +
        "iteration_id and every field forming an entity key must hold no control character.",
    ),
  }).prefault({}),
  entities: z.record(label, entity).describe(
    "Node labels and the events that create them.",
  ),
  relationships: z.array(relationship).default([]),
  correlation: z.strictObject({
    rules: z.array(z.string().min(1)).min(1).describe("Rule files; * matches within a folder."),
    combine: z.enum(["max", "noisy_or"]).default("noisy_or").describe(
      "How several rules linking one pair combine.",
    ),
    min_confidence: z.number().min(0).max(1).default(0.5).describe(
      "Links below this confidence are not written (explain still shows them).",
    ),
  }),
  runtime: z.strictObject({
    max_iterations_in_memory: z.number().int().min(1).default(128).describe(
      "Iterations whose state stays in memory; the least recently used are reloaded on demand.",
    ),
    queue_batches: z.number().int().min(1).max(64).default(2).describe(
      "Processed batches that may wait for the sinks before the source is paused.",
    ),
    durability: z.enum(DURABILITIES).default("process").describe(
      "What local state (checkpoint, dead-letter file, SQLite stores) survives once a batch is " +
        "acknowledged: process (a killed process; the default) or power_loss (a crash of the " +
        "machine too: fsync before every ack, SQLite synchronous=FULL; slower).",
    ),
    startup_timeout_seconds: z.number().int().min(0).default(300).describe(
      "How long the runner waits at start for the services its components need (Kafka, Redis, " +
        "Neo4j, Postgres), trying again with the backoff of retry; then it fails (exit 3). " +
        "0 waits without limit.",
    ),
    retry: z.strictObject({
      initial_ms: z.number().int().min(1).default(100).describe(
        "Backoff ceiling of the first retry; it doubles per attempt. Each wait is random below " +
          "the ceiling (full jitter).",
      ),
      max_ms: z.number().int().min(1).default(10_000).describe(
        "Cap of the backoff ceiling: the longest wait between two attempts.",
      ),
    }).prefault({}).describe(
      "Retries of a store or sink call that failed transiently (service down, timeout): forever, " +
        "with capped exponential backoff, while consumption pauses. Permanent errors are not " +
        "retried: the events they concern are dead-lettered (sink_error).",
    ),
  }).prefault({}),
  observability: observability.prefault({}),
  api: api.prefault({}),
  quality: qualitySchema.optional().describe("Quality gates of `ics quality`."),
  default_target: z.string().default("local"),
  targets: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), target).describe(
    "Where the spec runs, by name (--target).",
  ),
});

export const ruleFileSchema = z.strictObject({
  $schema: z.string().optional(),
  rules: z.array(ruleSchema).min(1).describe("Correlation rules."),
});

export type PipelineSpec = z.infer<typeof pipelineSchema>;
export type ApiConfig = z.infer<typeof api>;
export type TargetSpec = z.infer<typeof target>;
export type EntitySpec = z.infer<typeof entity>;
export type RelationshipSpec = z.infer<typeof relationship>;
export type RuleSpec = z.infer<typeof ruleSchema>;
