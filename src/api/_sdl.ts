/**
 * The GraphQL schema (SDL) of an {@link ApiModel}: the API's own types, then one type per label.
 * Every list is a connection (`edges { cursor node }`, `nodes`, `pageInfo`) paged with
 * `first`/`after`; every root takes `asOf` (valid time) and `knownAt` (system time).
 * @module
 */
import { DLQ_CATEGORIES } from "../core/types.ts";
import type { ApiModel, LabelModel } from "./_model.ts";

const PAGE = "first: Int, after: String";
const WHEN = "asOf: Time, knownAt: Time";
const LINK_FILTER = "rule: String, minConfidence: Float, maxConfidence: Float";

const connection = (type: string, about: string) => `
"""A page of ${about}."""
type ${type}Connection {
  edges: [${type}Edge!]!
  nodes: [${type}!]!
  pageInfo: PageInfo!
}
type ${type}Edge {
  """Opaque: pass it as \`after\` for the rows that follow."""
  cursor: String!
  node: ${type}!
}`;

const ENTITY_FIELDS = `
  """The fact id: the JSON array [iteration, label, ...key]."""
  id: ID!
  label: String!
  iterationId: String!
  """The natural key (one value per key field)."""
  key: [String!]!
  """Label:iteration:key, as the command line writes an entity (a key of several fields joined by |)."""
  ref: String!
  """Valid time: when this version became true."""
  validFrom: Time!
  """Valid time: when it stopped being true (null: it still is)."""
  validTo: Time
  """System time: when the runner learned it."""
  observedAt: Time!
  """System time: when the runner stopped believing it (null: it still does)."""
  supersededAt: Time
  """Every property of this version, as stored."""
  properties: JSON!
  """The entity's correlation links at the same time point, highest confidence first."""
  links(${LINK_FILTER}, ${PAGE}): LinkConnection!
  """
  The entity's versions in valid time as believed at the query's knownAt, oldest first;
  history: true gives every version ever stored, superseded ones too.
  """
  versions(history: Boolean = false, ${PAGE}): EntityConnection!`;

function labelType(l: LabelModel, model: ApiModel): string {
  const props = l.properties.map((p) =>
    `  """${p.name}, from ${p.source}."""\n  ${p.field}: ${p.type}`
  );
  const rels = l.relationships.map((r) => {
    const other = model.byLabel.get(r.other)!.typeName;
    const about = r.direction === "out"
      ? `${l.label} -[${r.type}]-> ${r.other}: the ${r.other} entities this one points to`
      : `${r.other} -[${r.type}]-> ${l.label}: the ${r.other} entities pointing to this one`;
    return `  """${about}, by id."""\n  ${r.field}(${PAGE}): ${other}Connection!`;
  });
  return `
"""A ${l.label} entity: one version of it, at the query's time point."""
type ${l.typeName} implements Entity {${ENTITY_FIELDS}
${[...props, ...rels].join("\n")}
}
${connection(l.typeName, `${l.label} entities`)}`;
}

/** The SDL of the API for a model. */
export function sdl(model: ApiModel): string {
  const labels = model.labels.map((l) => l.label);
  const types = model.types.length ? "RelationshipType" : "String";
  const roots = model.labels.map((l) =>
    `  """The ${l.label} entity of an iteration with this key, at the time point."""
  ${l.rootField}(iterationId: String!, key: [String!]!, ${WHEN}): ${l.typeName}`
  );
  return `
"""
An instant. Given as ISO 8601 with an offset (2025-01-06T09:00:00Z, 2025-01-06T10:00:00+01:00), a
date (2025-01-06, midnight UTC) or epoch milliseconds (a number or its digits); shown as ISO 8601 UTC.
"""
scalar Time
"""Any JSON value."""
scalar JSON

type PageInfo {
  hasNextPage: Boolean!
  """The cursor of the last row: pass it as \`after\` for the next page."""
  endCursor: String
}

"""The entity labels of the spec."""
enum EntityLabel { ${labels.join(" ")} }
${
    model.types.length
      ? `"""The relationship types of the spec."""\nenum RelationshipType { ${
        model.types.join(" ")
      } }`
      : ""
  }
enum DeadLetterCategory { ${DLQ_CATEGORIES.join(" ")} }
enum Verdict { FIRED NEAR_MISS NOT_APPLICABLE }

"""An entity of any label (use \`... on Task { status }\` for a label's own fields)."""
interface Entity {${ENTITY_FIELDS}
}
${connection("Entity", "entities")}

"""An entity of a label the spec no longer declares (its properties are in \`properties\`)."""
type UnknownEntity implements Entity {${ENTITY_FIELDS}
}
${model.labels.map((l) => labelType(l, model)).join("\n")}

"""How one rule scored a linked pair."""
type RuleEvidence {
  rule: String!
  kind: String!
  """The rule's contribution to the link's confidence."""
  score: Float!
  """The values the rule compared: {left, right}."""
  matched: JSON!
  """Similarity or feature breakdown, where the rule has one."""
  detail: JSON
}

"""A correlation link, shown from its first rule's left side to its right side."""
type Link {
  id: ID!
  iterationId: String!
  """Null when the entity has no version at the time point."""
  from: Entity
  to: Entity
  """The combined confidence of the contributing rules."""
  confidence: Float!
  rules: [RuleEvidence!]!
  """The matched values of each contributing rule, by rule id."""
  matched: JSON!
  """Hash of the correlation policy that made the link."""
  policy: String!
  validFrom: Time!
  validTo: Time
  observedAt: Time!
  supersededAt: Time
}
${connection("Link", "links, highest confidence first")}

"""A structural relationship (from the spec's relationships) between two entities."""
type Relationship {
  id: ID!
  type: String!
  iterationId: String!
  from: Entity
  to: Entity
  validFrom: Time!
  validTo: Time
  observedAt: Time!
  supersededAt: Time
}
${connection("Relationship", "relationships, by source, type and target")}

type LabelCount { label: String! count: Int! }
type TypeCount { type: String! count: Int! }
"""What an iteration holds at the time point, counted by the store."""
type IterationCounts {
  entities: Int!
  relationships: Int!
  links: Int!
  byLabel: [LabelCount!]!
  byType: [TypeCount!]!
}

"""One iteration's graph at the query's time point."""
type Iteration {
  id: ID!
  counts: IterationCounts!
  """Its entities (of one label), by id."""
  entities(label: EntityLabel, ${PAGE}): EntityConnection!
  relationships(type: ${types}, ${PAGE}): RelationshipConnection!
  links(${LINK_FILTER}, ${PAGE}): LinkConnection!
}
${connection("Iteration", "iterations, by id")}

input EntityRefInput {
  label: EntityLabel!
  iterationId: String!
  key: [String!]!
}

"""One rule's verdict on a pair."""
type RuleVerdict {
  rule: String!
  kind: String!
  verdict: Verdict!
  score: Float
  reason: String
  matched: JSON
  detail: JSON
}

"""Why two entities are linked, or why not, under the spec's current policy."""
type Explanation {
  a: Entity
  b: Entity
  linked: Boolean!
  """The combination of the fired rules (0 when none fired)."""
  confidence: Float!
  minConfidence: Float!
  combine: String!
  policy: String!
  """The two are in different iterations: links never cross iterations."""
  crossIteration: Boolean!
  """The entities (Label:iteration:key) that have no version at the time point."""
  missing: [String!]!
  """Every rule: fired, near miss (evaluated, below its threshold) or not applicable."""
  verdicts: [RuleVerdict!]!
  """The link stored between the two at the time point, if any."""
  link: Link
}

"""A record the pipeline could not process."""
type DeadLetter {
  id: ID!
  category: DeadLetterCategory!
  """One line: why (secrets masked)."""
  reason: String!
  stream: String
  key: String
  """Where the record was: {kind: "file", path, line} or {kind: "kafka", topic, partition, offset}."""
  position: JSON!
  """The record's bytes: text, or base64 (payloadEncoding)."""
  payload: String!
  payloadEncoding: String!
  format: String
  """When it was dead-lettered."""
  time: Time!
  policy: String!
  attempts: Int
  redriven: Int
  truncated: Int
}
${connection("DeadLetter", "dead letters, oldest first")}

type Query {
  """The iterations with a fact at the time point, by id."""
  iterations(prefix: String, ${PAGE}, ${WHEN}): IterationConnection!
  """One iteration (null when it holds nothing at the time point)."""
  iteration(id: ID!, ${WHEN}): Iteration
  """An entity by label, iteration and key, at the time point."""
  entity(label: EntityLabel!, iterationId: String!, key: [String!]!, ${WHEN}): Entity
${roots.join("\n")}
  """Links of an iteration, or of the whole graph, highest confidence first."""
  links(iterationId: String, ${LINK_FILTER}, ${PAGE}, ${WHEN}): LinkConnection!
  """Why two entities are linked or not: every rule's verdict, near misses included."""
  explain(a: EntityRefInput!, b: EntityRefInput!, ${WHEN}): Explanation!
  """
  Dead letters of the target's queue, oldest first (a file queue; knownAt: those dead-lettered by
  then; a letter has no valid time, so asOf changes nothing).
  """
  deadLetters(category: DeadLetterCategory, ${PAGE}, ${WHEN}): DeadLetterConnection!
}
`;
}
