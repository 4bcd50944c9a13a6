/**
 * The component contract. A component is a value, not a class: a `type` name, the zod schema of
 * its config, and `create()`. Each role (source, dedup store, graph store, metrics store, dead-letter
 * queue) has an explicit registry object in its folder's `mod.ts`.
 * @module
 */
import type { z } from "zod";
import type avro from "avsc";
import type { DeadLetter, Envelope, GraphChanges, RawRecord, Version } from "./types.ts";
import type { Durability } from "./durable.ts";

/**
 * What a log line is about, besides its message: the component that logged it (set by the
 * runtime for each component it creates) and, for a line about one event, its iteration and id.
 */
export interface LogFields {
  component?: string;
  iteration_id?: string;
  event_id?: string;
}

/** What every component gets when it is created. */
export interface Context {
  /** Folder for local state (the `--state` flag); relative paths in configs resolve against it. */
  stateDir: string;
  /** Folder of the spec file; relative input paths resolve against it. */
  specDir: string;
  /** Structured, non-console log sink (the CLI decides where it goes and in what form). */
  log: (level: "info" | "warn" | "error", message: string, fields?: LogFields) => void;
  /** Stop once everything that was in the input when the run started is processed (`--drain`). */
  drain?: boolean;
  /**
   * Where a log source starts instead of its group's committed offsets: the earliest record, or
   * the first record at or after this time (epoch ms, the log's record timestamps).
   */
  from?: "earliest" | number;
  /**
   * What local state must survive before a batch is acknowledged (`runtime.durability`): a killed
   * process (default) or a power loss (fsync before the ack, SQLite `synchronous = FULL`).
   */
  durability?: Durability;
}

/** `Extra` is what a role adds to the context (the dedup TTL, for instance). */
export interface ComponentDef<S extends z.ZodType, T, Extra = unknown> {
  type: string;
  schema: S;
  create(config: z.infer<S>, ctx: Context & Extra): Promise<T>;
}

/** Every component can be closed and asked whether it is healthy. */
export interface Lifecycle {
  /** Resolves when the component works; rejects with a clear message otherwise. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Consumed positions to commit, in Kafka's terms (what a transactional producer sends). */
export interface SourceOffsets {
  group: string;
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/** A batch from a source. `ack()` commits the source position past it. */
export interface SourceBatch {
  records: RawRecord[];
  /**
   * Commit the source position past this batch. `committed: true` says the offsets were already
   * committed (in the dead-letter transaction): only release the batch.
   */
  ack(options?: { committed?: boolean }): Promise<void>;
  /** Set by log sources: the positions `ack()` would commit, for a transactional commit. */
  offsets?: SourceOffsets;
  /**
   * Set by sources whose input can move to another process (a Kafka consumer group): it changes
   * whenever the assignment may have changed, so state derived from earlier batches (the graph
   * model's cached iterations) may be stale.
   */
  epoch?: number;
}

export interface Source extends Lifecycle {
  /** Batches until the input ends (file) or the signal aborts. */
  batches(signal: AbortSignal): AsyncIterable<SourceBatch>;
  /** Writer schemas by registry id, for Confluent-framed Avro (prefetched per batch). */
  writerSchema?(id: number): avro.Type | undefined;
  /**
   * Why `batches()` yielded no record, as one sentence for the run summary (an empty input, one
   * already processed, a last line held back), when the source can tell.
   */
  nothingNew?(): string | undefined;
}

/** An event as the dedup store knows it: its idempotency key and the digest of its content. */
export interface DedupEntry {
  key: string;
  /** Hex digest of the event's content (all fields but event_id): what verifies a key hit. */
  digest: string;
  /** The key in the format of earlier versions, where it differs (see `DedupStore.legacy`). */
  legacy?: string;
  /** Set on commit when the key already holds other digests: this one is added to them. */
  collision?: boolean;
}

/**
 * `seen`: the key holds this digest (a duplicate); `collision`: the key holds only other digests
 * (a distinct event that shares the key: processed, counted); `new`: the key is unknown.
 */
export type DedupVerdict = "new" | "seen" | "collision";

/** Idempotency keys: checked before processing, marked seen only after the batch commits. */
export interface DedupStore extends Lifecycle {
  /** For each entry, whether its event was seen, is new, or collides with another on its key. */
  seen(entries: DedupEntry[]): Promise<DedupVerdict[]>;
  /** Remember the entries (called after every sink acknowledged their batch). */
  commit(entries: DedupEntry[]): Promise<void>;
  /**
   * True while the store may hold keys written in the format of earlier versions: the runtime
   * then sets `legacy` on entries whose key differs in that format, and a legacy hit is `seen`.
   */
  legacy?: boolean;
}

/** Asks a graph store for versions. Times are epoch ms. */
export interface VersionQuery {
  iteration_id?: string;
  kind?: Version["kind"];
  ids?: string[];
  /** Valid time: versions true at this instant. */
  valid_at?: number;
  /** System time: versions believed at this instant; default now (only current beliefs). */
  known_at?: number;
  /** Include versions no longer believed (the whole history). */
  history?: boolean;
}

/**
 * Fencing: a writer's claims on the parts of the input it owns (a consumer group's partitions),
 * each with the epoch its claim got. A write carrying a fence is refused ({@link FencedError})
 * when another writer has claimed one of those parts since: a stalled previous owner cannot write
 * over the iterations the next owner rebuilt.
 */
export interface Fence {
  /** Who writes: one id per running pipeline. */
  owner: string;
  /** Part → the epoch this owner's claim of it got. */
  claims: Record<string, number>;
}

export interface GraphStore extends Lifecycle, GraphReader {
  /**
   * Apply a batch of changes atomically and idempotently. With a fence, only while every claim
   * still holds (checked inside the same transaction), else it throws FencedError and writes
   * nothing.
   */
  write(changes: GraphChanges, fence?: Fence): Promise<void>;
  /**
   * Claim parts of the input for `owner`: each claim gets an epoch above every earlier claim of
   * that part, and fences every earlier claimant out. Stores shared by several runners implement
   * it (Neo4j); a store only one runner writes (SQLite, locked) needs no fencing.
   */
  claim?(parts: string[], owner: string): Promise<Record<string, number>>;
  /**
   * Believed versions of the given iterations, node versions with their `observations` (to
   * rebuild the graph model's state).
   */
  load(iterations: string[]): Promise<{ versions: Version[] }>;
  query(query: VersionQuery): Promise<Version[]>;
  /** Every iteration in the graph (for whole-graph commands such as recorrelate). */
  iterations?(): Promise<string[]>;
}

/**
 * A point in both times, for the readers (the GraphQL API, `query`, `links`, `checksum`). Each fact
 * has at most one version there: the one believed at `known_at` (system time; absent: the current
 * beliefs) that is valid at `valid_at` (valid time; absent: the open-ended version, `valid_to`
 * null, i.e. what holds from its last change on).
 */
export interface TimePoint {
  valid_at?: number;
  known_at?: number;
}

/** A page: at most `first` rows after the cursor (the sort key of the last row seen). */
export interface PageOf<Cursor> {
  first: number;
  after?: Cursor;
}

/** Where a link page stands: links are ordered by confidence (highest first), then endpoints. */
export type LinkCursor = [confidence: number, from: string, to: string];
/** Where a relationship page of an iteration stands: ordered by source, type, target. */
export type RelationshipCursor = [from: string, type: string, to: string];

/** Link filters: contributing rule, confidence bounds (both inclusive). */
export interface LinkFilter {
  rule?: string;
  min_confidence?: number;
  max_confidence?: number;
}

/** What an iteration holds at a time point, counted by the store (nothing loaded). */
export interface IterationCounts {
  /** Entities by label. */
  entities: Record<string, number>;
  /** Relationships by type. */
  relationships: Record<string, number>;
  links: number;
}

/**
 * The read side of a graph store: every reader's questions, answered with the filters pushed down
 * to indexed queries, one version per fact at a {@link TimePoint}, in pages. Orders are code point
 * order of the ids (SQLite's BINARY, Neo4j's string order), so every store pages identically;
 * `tests/graph_store_contract.ts` holds both stores to the same answers.
 */
export interface GraphReader {
  /**
   * Iterations with a fact at the time point, in id order, after `after`; `prefix` keeps those
   * starting with it. (An iteration with nothing believed now is not listed at any time point.)
   */
  readIterations(q: TimePoint & PageOf<string> & { prefix?: string }): Promise<string[]>;
  /** What one iteration holds at the time point. */
  countIteration(q: TimePoint & { iteration_id: string }): Promise<IterationCounts>;
  /** Node versions of an iteration's entities (of one label), in entity id order. */
  readEntities(
    q: TimePoint & PageOf<string> & { iteration_id: string; label?: string },
  ): Promise<Version[]>;
  /** The node version of each of these entities at the time point (absent when it has none). */
  readNodes(q: TimePoint & { ids: string[] }): Promise<Version[]>;
  /** Relationship versions of an iteration (of one type), ordered by source, type, target. */
  readRelationships(
    q: TimePoint & PageOf<RelationshipCursor> & { iteration_id: string; type?: string },
  ): Promise<Version[]>;
  /**
   * Relationship versions of a type leaving (`out`) or reaching (`in`) each entity: per entity at
   * most `first`, ordered by the other end's id, after the other end `after`.
   */
  relationshipsOf(
    q: TimePoint & PageOf<string> & { ids: string[]; type: string; direction: "out" | "in" },
  ): Promise<Map<string, Version[]>>;
  /** Link versions (of an iteration, or of the whole graph) by confidence, highest first. */
  readLinks(
    q: TimePoint & PageOf<LinkCursor> & LinkFilter & { iteration_id?: string },
  ): Promise<Version[]>;
  /** Link versions of each entity (either end): per entity at most `first`, by confidence. */
  linksOf(
    q: TimePoint & PageOf<LinkCursor> & LinkFilter & { ids: string[] },
  ): Promise<Map<string, Version[]>>;
}

export interface MetricsStore extends Lifecycle {
  /** Record processed events (idempotent on the event key) and the batch's throughput. */
  write(events: Envelope[], batch: { at: number; received: number; elapsed_ms: number }): Promise<
    void
  >;
}

export interface DeadLetterQueue extends Lifecycle {
  write(letters: DeadLetter[]): Promise<void>;
  /**
   * Optional: write the letters and commit the source offsets in one transaction (Kafka). When
   * present and the batch has offsets, the runtime calls this instead of `write()` + `ack()`.
   */
  writeAndCommit?(letters: DeadLetter[], offsets: SourceOffsets): Promise<void>;
}

/**
 * A role's registry seen by the configs it accepts: under each `type:` name, a component that
 * creates a `T` from the config of that type. (`create` is a property, not a method, so its
 * parameters are checked strictly: a context missing what a component needs does not compile.)
 */
type Registry<Configs, T, Extra> = {
  [K in keyof Configs]: { create: (config: Configs[K], ctx: Context & Extra) => Promise<T> };
};

/**
 * Create the component that a config's `type:` names from a role's registry. A registry's keys
 * are its components' `type:` names, so the config of type `K` is the config `registry[K]`
 * creates from (the spec schema's unions are built from the same registries). `T` comes from
 * the caller's expected type: write `Promise<GraphStore>` where the call is returned.
 */
export function createComponent<Configs, K extends keyof Configs, T, Extra>(
  registry: Registry<Configs, T, Extra>,
  config: Configs[K] & { type: K },
  ctx: Context & Extra,
): Promise<T> {
  const type: K = config.type;
  return registry[type].create(config, ctx);
}

/** A store's read side as an object of its own: what a wrapper of a store keeps as it is. */
export function readerOf(store: GraphReader): GraphReader {
  return {
    readIterations: (q) => store.readIterations(q),
    countIteration: (q) => store.countIteration(q),
    readEntities: (q) => store.readEntities(q),
    readNodes: (q) => store.readNodes(q),
    readRelationships: (q) => store.readRelationships(q),
    relationshipsOf: (q) => store.relationshipsOf(q),
    readLinks: (q) => store.readLinks(q),
    linksOf: (q) => store.linksOf(q),
  };
}
