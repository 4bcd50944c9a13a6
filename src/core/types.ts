/**
 * The data that flows through the pipeline, shared by every component.
 *
 * A source yields {@link RawRecord}s; decoding turns each into an {@link Event}; mapping turns events
 * into {@link EntityObservation}s and {@link RelationshipObservation}s; the graph model folds those
 * into bi-temporal {@link Version}s that the graph sinks persist.
 * @module
 */
import type avro from "avsc";

/**
 * Where a record came from, enough to find it again (and to commit past it). In a JSON Lines file
 * `line` is the 1-based physical line and `offset` the byte offset of its first byte; in an Avro
 * container file `line` is the record's 1-based number in the file and `offset` the byte offset of
 * its block.
 */
export type Position =
  | { kind: "file"; path: string; line: number; offset?: number }
  | { kind: "kafka"; topic: string; partition: number; offset: string };

/** A record as read from a source, before decoding. */
export interface RawRecord {
  /** The stream, when the source knows it (a Kafka topic); otherwise decoding decides. */
  stream?: string;
  key?: string;
  value: Uint8Array;
  /** How `value` is encoded. */
  format: "json" | "avro" | "avro_confluent";
  headers?: Record<string, string>;
  position: Position;
  /** Set when the record is a dead letter re-injected by `ics dlq redrive`. */
  redrive?: Redrive;
  /** Avro container files: the file's writer schema (`value` is encoded with it). */
  writer?: avro.Type;
  /**
   * Set by a source that found the record broken while reading it (a line over
   * `max_event_bytes`, a truncated or corrupt Avro block): it is dead-lettered as this, undecoded.
   */
  invalid?: { category: DlqCategory; reason: string };
}

/** A redriven dead letter: how often it has been redriven (this attempt included) and why it died. */
export interface Redrive {
  attempt: number;
  category: DlqCategory;
  reason: string;
}

/** A decoded, schema-checked event (field names of the Avro schemas in `schemas/avro/`). */
export type Event = Record<string, unknown> & {
  event_id: string;
  event_type: string;
  iteration_id: string;
  timestamp: number;
  producer: string;
};

/** An event in flight with everything the later stages need. */
export interface Envelope {
  record: RawRecord;
  stream: string;
  event: Event;
  /** Idempotency key: hex SHA-256 of the key fields of its event type. */
  key: string;
  /**
   * Hex digest of the event's content (every field but event_id): two events with one digest are
   * the same event. Metric rows are idempotent on it.
   */
  digest: string;
}

export const DLQ_CATEGORIES = [
  "decode_error",
  "schema_violation",
  "mapping_error",
  "correlation_error",
  "sink_error",
] as const;
export type DlqCategory = typeof DLQ_CATEGORIES[number];

/** A record the pipeline could not process; nothing is dropped silently. */
export interface DeadLetter {
  category: DlqCategory;
  /** The original message key, when the source had one. */
  key?: string;
  reason: string;
  stream?: string;
  position: Position;
  /** Original payload: UTF-8 text when it decodes as such, base64 otherwise. */
  payload: string;
  payload_encoding: "utf8" | "base64";
  /** Epoch milliseconds. */
  time: number;
  policy: string;
  attempts?: number;
  /** How the payload was encoded at the source, so a redrive decodes it as the source did. */
  format?: RawRecord["format"];
  /** Times the letter was redriven (`ics dlq redrive`) and failed again; absent: never. */
  redriven?: number;
  /**
   * Set when `payload` holds only the start of the record (it did not fit the dead-letter topic's
   * message size): the record's full size in bytes. The whole record is at `position`.
   */
  truncated?: number;
}

/** A graph node's identity: (label, iteration, natural key). */
export interface EntityRef {
  label: string;
  iteration_id: string;
  key: string[];
}

/** What one event says about one entity at one valid time. */
export interface EntityObservation extends EntityRef {
  /** Valid time (the event timestamp), epoch ms. */
  time: number;
  props: Record<string, unknown>;
}

/** What one event says about a structural relationship between two entities. */
export interface RelationshipObservation {
  type: string;
  iteration_id: string;
  from: EntityRef;
  to: EntityRef;
  time: number;
}

/** The kinds of facts the graph keeps versions of. */
export type FactKind = "node" | "relationship" | "link";

/** What one event said about an entity at a valid time (the graph model's restart state). */
export interface Observation {
  time: number;
  props: Record<string, unknown>;
}

/**
 * One version of a fact, bi-temporal. Believed from `observed_at` until `superseded_at` (system
 * time); true from `valid_from` until `valid_to` (business time). Never updated in place except
 * for `superseded_at`, which closes it (and a node version's `observations`, see below).
 */
export interface Version {
  kind: FactKind;
  /** Stable id of the fact (same across versions). */
  id: string;
  /** Unique id of this version: `${id}@${valid_from}@${observed_at}`. */
  version_id: string;
  iteration_id: string;
  /** Node label, relationship type, or `CORRELATES` for links. */
  label: string;
  /** Node: natural key. Relationship and link: unused (empty). */
  key: string[];
  /** Relationship and link endpoints (fact ids of nodes). */
  from?: string;
  to?: string;
  props: Record<string, unknown>;
  valid_from: number;
  valid_to: number | null;
  observed_at: number;
  superseded_at: number | null;
  /**
   * Node versions: the observations whose valid time falls in this version's period, in arrival
   * order. Not part of the graph: it is what a restarted runner re-folds late events from (a
   * version holds folded state, from which a late observation could not be re-folded exactly).
   * The believed versions of an entity hold all its observations between them.
   */
  observations?: Observation[];
}

/** Which version: enough for a store to find it (its id, and its fact and times). */
export type VersionRef = Pick<
  Version,
  "kind" | "version_id" | "id" | "label" | "from" | "to" | "valid_from" | "observed_at"
>;

/** What the graph sinks apply atomically for a batch. */
export interface GraphChanges {
  /** New versions to insert. */
  opened: Version[];
  /** Versions to close: their `superseded_at` is set to `at`. */
  closed: (VersionRef & { at: number })[];
  /**
   * Believed node versions whose observations grew: an observation that changed nothing folded
   * into their period. Their `observations` are replaced (nothing else about them changes).
   */
  observed?: (VersionRef & { observations: Observation[] })[];
}

/** Link properties, as stored on a `link` version. */
export interface LinkProps extends Record<string, unknown> {
  confidence: number;
  rules: RuleEvidence[];
  policy: string;
}

/** How one rule scored one pair. */
export interface RuleEvidence {
  rule: string;
  kind: string;
  /** The rule's contribution to the link's confidence. */
  score: number;
  /** The values the rule compared, by side. */
  matched: { left: unknown; right: unknown };
  /** Similarity or feature breakdown where the rule has one. */
  detail?: Record<string, number>;
}
