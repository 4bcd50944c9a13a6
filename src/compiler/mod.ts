/**
 * Loading a spec: `pipeline.yaml` and its rule files are parsed with positions, interpolated,
 * validated against the schema and cross-checked, and every problem is reported at once as
 * `file:line:column  yaml.path  message` (positioned YAML is `src/yaml`'s). The result is a
 * {@link CompiledSpec} (`./types.ts`): plain data plus the compiled rules, ready for the runtime.
 * @module
 */
import avro from "avsc";
import { dirname, resolve } from "node:path";
import {
  formatErrors,
  type LoadedYaml,
  loadYaml,
  NotAFile,
  readConfigFile,
  readRegular,
  shortName,
  type SpecError,
  validate,
  yamlPath,
} from "../yaml/mod.ts";
import { didYouMean } from "../core/did_you_mean.ts";
import {
  type EntitySpec,
  pipelineSchema,
  type PipelineSpec,
  propertyName,
  ruleFileSchema,
  type RuleSpec,
} from "./_schema.ts";
import { ALLOW_OUTSIDE, type Confinement, confinement, expandGlob } from "./_files.ts";
import { checkNamedFiles, withoutStreams } from "./_confine.ts";
import { loadRuleFile } from "./_rule_file.ts";
import { eventTypes, fieldNames, type FieldType, fieldType } from "./_avro.ts";
import { createRule } from "../correlation/kinds.ts";
import type { Rule } from "../correlation/mod.ts";
import { sha256, stableStringify } from "../core/hash.ts";
import { rememberSecretsIn } from "../core/secrets.ts";
import { literalSecrets, resolveFiles } from "./_secrets.ts";
import type {
  CompiledSpec,
  CompiledStream,
  EntityMapping,
  KeyAlternatives,
  RelationshipMapping,
} from "./types.ts";

export type { SpecError };
export type { ApiConfig } from "./_schema.ts";
export { formatErrors };
export { fieldType };
export { pipelineSchema, ruleFileSchema };
export { type QualityConfig, type QualityGates, qualitySchema } from "./_quality.ts";
export type { CompiledSpec, CompiledStream, EntityMapping, KeyAlternatives, RelationshipMapping };

/** The alternatives of a `key:` declaration. */
export function keyAlternatives(key: EntitySpec["key"]): KeyAlternatives {
  return Array.isArray(key) ? [key] : key.first_of;
}

/** The one id field per stream of the key format before keys were derived from the mapping. */
const LEGACY_KEYS: Record<string, string> = {
  dde: "node_id",
  bdv: "scenario_id",
  acc: "module_path",
};

/** The repo-relative path fields of each stream's events (README, Events). */
const DEFAULT_PATHS: Record<string, string[]> = {
  dde: ["artifact_path"],
  bdv: ["feature_file"],
  acc: ["module_path"],
};

/** `record[key]` when it is the record's own entry (never an inherited `constructor`). */
const own = <T>(record: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/**
 * Load and compile a spec; `errors` is empty exactly when `spec` is set. The files the spec names
 * must lie in its folder, or in one the `ICS_ALLOW_OUTSIDE` variable of `env` lists (`_files.ts`).
 */
export async function loadSpec(
  file: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<{ spec?: CompiledSpec; errors: SpecError[] }> {
  const path = resolve(file);
  const text = await readConfigFile(path, file);
  if (typeof text !== "string") return { errors: [text] };
  const loaded = loadYaml(shortName(path), text, env);
  // Before anything can report a value: every message from here on masks the spec's secrets.
  rememberSecretsIn(loaded.value);
  if (loaded.errors.length) return { errors: loaded.errors };
  const dir = dirname(path);
  const confined = await confinement(dir, env(ALLOW_OUTSIDE));
  const checked = validate(pipelineSchema, loaded);
  if (!checked.value) {
    // Still check the rule files the spec names, so every error is reported in one pass.
    const rules = (loaded.value as { correlation?: { rules?: unknown } })?.correlation?.rules;
    const errors = [...checked.errors];
    for (const [i, pattern] of (Array.isArray(rules) ? rules : []).entries()) {
      if (typeof pattern !== "string" || pattern === "") continue;
      const { files, problems } = await expandGlob(resolve(dir, pattern), pattern, confined);
      const where = ["correlation", "rules", i];
      for (const message of problems) {
        errors.push({ file: loaded.file, ...loaded.locate(where), path: yamlPath(where), message });
      }
      for (const file of files) errors.push(...(await loadRuleFile(file, env)).errors);
    }
    return { errors };
  }
  const errors: SpecError[] = [];
  const spec = checked.value;
  const at = (p: PropertyKey[], message: string, key = false) =>
    errors.push({
      file: loaded.file,
      ...(key ? loaded.locateKey(p) : loaded.locate(p)),
      path: yamlPath(p),
      message,
    });

  literalSecrets(loaded, at);
  resolveFiles(spec, dir);
  // Files outside the spec's folder are reported, and never read.
  const refused = await checkNamedFiles(spec, dir, confined, at);
  const streams = await compileStreams(withoutStreams(spec, refused), dir, at);
  const streamOfEventType = new Map<string, string>();
  for (const s of streams.values()) for (const t of s.eventTypes) streamOfEventType.set(t, s.name);
  const entities = compileEntities(spec, streams, at);
  const relationships = compileRelationships(spec, streams, entities, at);
  collectIdFields(streams, entities, relationships);
  deriveDedupKeys(spec, streams, entities, relationships, at);
  const { rules, ruleSpecs, ruleFiles } = await compileRules(
    spec,
    dir,
    confined,
    streams,
    entities,
    env,
    errors,
    at,
  );
  if (!own(spec.targets, spec.default_target)) {
    const hint = didYouMean(spec.default_target, Object.keys(spec.targets));
    at(
      ["default_target"],
      `target "${spec.default_target}" is not defined in targets` +
        (hint ? ` (did you mean "${hint}"?)` : ""),
    );
  }
  if (errors.length) return { errors };
  const { combine, min_confidence } = spec.correlation;
  return {
    errors,
    spec: {
      file: path,
      dir,
      spec,
      streams,
      streamOfEventType,
      entities,
      relationships,
      rules,
      ruleSpecs,
      ruleFiles,
      combine,
      min_confidence,
      policy: sha256(stableStringify({ rules: ruleSpecs, combine, min_confidence })).slice(0, 16),
    },
  };
}

type At = (path: PropertyKey[], message: string, key?: boolean) => void;

async function compileStreams(spec: PipelineSpec, dir: string, at: At) {
  const streams = new Map<string, CompiledStream>();
  for (const [name, s] of Object.entries(spec.streams)) {
    const schemaFile = resolve(dir, s.schema);
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(JSON.parse(await readRegular(schemaFile)));
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound
        ? "does not exist"
        : error instanceof NotAFile
        ? "is not a file"
        : "is not a valid Avro schema";
      at(["streams", name, "schema"], `schema file "${s.schema}" ${why}`);
      continue;
    }
    const types = eventTypes(type);
    if (types.length === 0) {
      at(["streams", name, "schema"], `schema "${s.schema}" has no event_type enum`);
    }
    const main = own(LEGACY_KEYS, name);
    const configuredKey = own(spec.dedup.key, name);
    const legacyKey = Array.isArray(configuredKey)
      ? configuredKey
      : main
      ? ["iteration_id", "event_type", main, "timestamp"]
      : ["event_id"];
    const configured = own(spec.validation.path_fields, name);
    const pathFields = (configured ?? own(DEFAULT_PATHS, name) ?? [])
      .filter((f) => configured || fieldType(type, f)); // defaults only where the schema has them
    pathFields.forEach((f, i) => {
      const t = fieldType(type, f);
      if (!t) at(["validation", "path_fields", name, i], unknownField(f, name, type));
      else if (t !== "string") {
        at(["validation", "path_fields", name, i], `"${f}" is ${t}; a path field is a string`);
      }
    });
    streams.set(name, {
      name,
      topic: s.topic,
      schemaFile,
      type,
      eventTypes: types,
      dedupKeys: new Map(),
      legacyKey,
      digestFields: fieldNames(type).filter((f) => f !== "event_id"),
      idFields: ["event_id", "iteration_id"],
      pathFields,
    });
  }
  const perStream = (section: Record<string, unknown>, path: string[]) => {
    for (const name of Object.keys(section)) {
      if (!own(spec.streams, name)) at([...path, name], unknownStream(name, spec), true);
    }
  };
  perStream(spec.dedup.key, ["dedup", "key"]);
  perStream(spec.validation.path_fields, ["validation", "path_fields"]);
  return streams;
}

function compileEntities(spec: PipelineSpec, streams: Map<string, CompiledStream>, at: At) {
  const entities: EntityMapping[] = [];
  for (const [label, e] of Object.entries(spec.entities)) {
    const path = ["entities", label];
    const stream = streams.get(e.stream);
    if (!stream) {
      if (!own(spec.streams, e.stream)) at([...path, "stream"], unknownStream(e.stream, spec));
      continue;
    }
    checkEventTypes(e.when.event_type, stream, [...path, "when", "event_type"], at);
    const keys = keyAlternatives(e.key);
    const keyFields = [...new Set(keys.flat())];
    const properties = [
      ...keyFields.map((f) => ({ name: propertyOf(f), field: f })),
      ...e.properties.map((p) => typeof p === "string" ? { name: propertyOf(p), field: p } : p),
    ];
    for (const [where, f] of keyFieldPaths(e.key, [...path, "key"])) {
      if (!fieldType(stream.type, f)) at(where, unknownField(f, stream.name, stream.type));
    }
    e.properties.forEach((p, i) => {
      const f = typeof p === "string" ? p : p.field;
      const where = typeof p === "string"
        ? [...path, "properties", i]
        : [...path, "properties", i, "field"];
      if (!fieldType(stream.type, f)) at(where, unknownField(f, stream.name, stream.type));
      else if (typeof p === "string" && p.includes(".")) {
        at(where, `"${p}" needs a property name: write { name: ..., field: ${p} }`);
      }
    });
    checkPropertyNames(e, path, at);
    entities.push({
      label,
      stream: e.stream,
      eventTypes: new Set(e.when.event_type),
      keys,
      properties,
      pathFields: new Set(stream.pathFields),
    });
  }
  return entities;
}

/** Each field of a key declaration with its YAML path (`key[0]`, `key.first_of[1][0]`). */
function keyFieldPaths(key: EntitySpec["key"], path: PropertyKey[]): [PropertyKey[], string][] {
  if (Array.isArray(key)) return key.map((f, i) => [[...path, i], f]);
  return key.first_of.flatMap((alt, a) =>
    alt.map((f, i): [PropertyKey[], string] => [[...path, "first_of", a, i], f])
  );
}

/**
 * Names derived from fields (a key field, a plain property, `metadata.x` → `x`) must be property
 * names like the ones written out, and one name must not stand for two fields.
 */
function checkPropertyNames(e: EntitySpec, path: PropertyKey[], at: At) {
  const fields = new Map<string, string>();
  const check = (name: string, field: string, where: PropertyKey[], derived: boolean) => {
    const valid = propertyName.safeParse(name);
    if (derived && !valid.success) {
      const why = valid.error.issues[0].message;
      const hint = where.includes("properties") ? `; write { name: ..., field: ${field} }` : "";
      at(
        where,
        name === field
          ? `"${field}" cannot be a property name: ${why}${hint}`
          : `"${field}" gives the property name "${name}": ${why}${hint}`,
      );
    } else if (fields.has(name) && fields.get(name) !== field) {
      at(where, `property "${name}" already holds the field "${fields.get(name)}"`);
    }
    fields.set(name, field);
  };
  for (const [where, f] of keyFieldPaths(e.key, [...path, "key"])) {
    check(propertyOf(f), f, where, true);
  }
  e.properties.forEach((p, i) => {
    // A dotted plain property is reported already: it needs a name.
    if (typeof p === "string") {
      if (!p.includes(".")) check(p, p, [...path, "properties", i], true);
    } else check(p.name, p.field, [...path, "properties", i, "name"], false);
  });
}

function compileRelationships(
  spec: PipelineSpec,
  streams: Map<string, CompiledStream>,
  entities: EntityMapping[],
  at: At,
) {
  const labels = new Map(entities.map((e) => [e.label, e]));
  const out: RelationshipMapping[] = [];
  spec.relationships.forEach((r, i) => {
    const path = ["relationships", i];
    const stream = streams.get(r.stream);
    if (!stream) {
      if (!own(spec.streams, r.stream)) at([...path, "stream"], unknownStream(r.stream, spec));
      return;
    }
    checkEventTypes(r.when.event_type, stream, [...path, "when", "event_type"], at);
    const ends: Partial<Record<"from" | "to", { label: string; keys: KeyAlternatives }>> = {};
    for (const side of ["from", "to"] as const) {
      const end = r[side];
      const target = labels.get(end.entity);
      if (!target) {
        if (!own(spec.entities, end.entity)) {
          at([...path, side, "entity"], unknownLabel(end.entity, Object.keys(spec.entities)));
        }
        continue;
      }
      if (end.key === undefined) {
        // The entity's own key, read from this event: its fields must be this stream's too.
        // (A field the entity's own stream lacks is reported at the entity already.)
        const own = streams.get(target.stream)!.type;
        const missing = [...new Set(target.keys.flat())]
          .filter((f) => fieldType(own, f) && !fieldType(stream.type, f));
        if (missing.length) {
          at(
            [...path, side, "entity"],
            `${end.entity}'s key field${missing.length > 1 ? "s" : ""} ${
              missing.map((f) => `"${f}"`).join(", ")
            } ${missing.length > 1 ? "are" : "is"} not in stream ${stream.name}'s Avro ` +
              `schema; give the event fields that name it as key: [...]`,
          );
        }
        ends[side] = { label: end.entity, keys: target.keys };
        continue;
      }
      const keys = keyAlternatives(end.key);
      const arities = new Set(target.keys.map((k) => k.length));
      keys.forEach((k, a) => {
        if (arities.has(k.length)) return;
        const where = Array.isArray(end.key) ? [...path, side, "key"] : [
          ...path,
          side,
          "key",
          "first_of",
          a,
        ];
        const want = [...arities].sort().map((n) => plural(n, "field")).join(" or ");
        at(
          where,
          `${end.entity}'s natural key has ${want}; this names ${plural(k.length, "field")}`,
        );
      });
      for (const [where, f] of keyFieldPaths(end.key, [...path, side, "key"])) {
        if (!fieldType(stream.type, f)) at(where, unknownField(f, stream.name, stream.type));
      }
      ends[side] = { label: end.entity, keys };
    }
    if (!ends.from || !ends.to) return;
    out.push({
      type: r.type,
      stream: r.stream,
      eventTypes: new Set(r.when.event_type),
      from: ends.from,
      to: ends.to,
      pathFields: new Set(stream.pathFields),
    });
  });
  return out;
}

/** Every field that forms an entity identity is an id field of its stream. */
function collectIdFields(
  streams: Map<string, CompiledStream>,
  entities: EntityMapping[],
  relationships: RelationshipMapping[],
) {
  const keys = [
    ...entities.map((e) => [e.stream, e.keys.flat()] as const),
    ...relationships.map((r) => [r.stream, [...r.from.keys.flat(), ...r.to.keys.flat()]] as const),
  ];
  for (const [name, fields] of keys) {
    const s = streams.get(name)!;
    for (const f of fields) if (!s.idFields.includes(f)) s.idFields.push(f);
  }
}

/**
 * The idempotency key fields of each event type (README, "Identity and idempotency"): iteration_id, event_type, the
 * fields that say what the event is about — the natural key fields (every alternative) of each
 * entity and relationship endpoint the type is mapped to, in declaration order — and timestamp.
 * So two distinct events never share a key, while a re-sent event (every field repeated) always
 * does. An event type mapped to nothing is about itself: its event_id. `dedup.key` overrides it
 * per stream or per event type.
 */
function deriveDedupKeys(
  spec: PipelineSpec,
  streams: Map<string, CompiledStream>,
  entities: EntityMapping[],
  relationships: RelationshipMapping[],
  at: At,
) {
  for (const stream of streams.values()) {
    const configured = own(spec.dedup.key, stream.name);
    const path = ["dedup", "key", stream.name];
    if (configured !== undefined && !Array.isArray(configured)) {
      for (const type of Object.keys(configured)) {
        if (!stream.eventTypes.includes(type)) {
          const hint = didYouMean(type, stream.eventTypes);
          at(
            [...path, type],
            `"${type}" is not an event type of stream ${stream.name}` +
              (hint ? ` (did you mean "${hint}"?)` : ""),
            true,
          );
        }
      }
    }
    const check = (fields: string[], where: PropertyKey[]) =>
      fields.forEach((f, i) => {
        if (!fieldType(stream.type, f)) {
          at([...where, i], unknownField(f, stream.name, stream.type));
        }
      });
    if (Array.isArray(configured)) check(configured, path);
    else if (configured) {
      for (const [type, fields] of Object.entries(configured)) check(fields, [...path, type]);
    }
    for (const type of stream.eventTypes) {
      const given = Array.isArray(configured) ? configured : configured && own(configured, type);
      if (given) {
        stream.dedupKeys.set(type, given);
        continue;
      }
      const about: string[] = [];
      const add = (keys: KeyAlternatives) => {
        for (const f of keys.flat()) if (!about.includes(f)) about.push(f);
      };
      for (const e of entities) {
        if (e.stream === stream.name && e.eventTypes.has(type)) add(e.keys);
      }
      for (const r of relationships) {
        if (r.stream === stream.name && r.eventTypes.has(type)) add(r.from.keys), add(r.to.keys);
      }
      stream.dedupKeys.set(
        type,
        ["iteration_id", "event_type", ...(about.length ? about : ["event_id"]), "timestamp"],
      );
    }
  }
}

/** The types a rule kind needs its fields to have, by side. */
const FIELD_TYPES: Record<string, { left: FieldType[]; right: FieldType[] }> = {
  explicit_id: { left: ["string", "int", "long"], right: ["string", "int", "long"] },
  file_path: { left: ["string"], right: ["string"] },
  tag: { left: ["string", "array<string>"], right: ["string", "int", "long"] },
  heuristic: { left: ["string", "int", "long"], right: ["string", "int", "long"] },
};

async function compileRules(
  spec: PipelineSpec,
  dir: string,
  confined: Confinement,
  streams: Map<string, CompiledStream>,
  entities: EntityMapping[],
  env: (name: string) => string | undefined,
  errors: SpecError[],
  at: At,
) {
  const rules: Rule[] = [];
  const ruleSpecs: RuleSpec[] = [];
  const ruleFiles: string[] = [];
  const seen = new Map<string, string>();
  const labels = new Map(entities.map((e) => [e.label, e]));
  const declared = Object.keys(spec.entities);
  for (const [i, pattern] of spec.correlation.rules.entries()) {
    const { files, problems } = await expandGlob(resolve(dir, pattern), pattern, confined);
    for (const message of problems) at(["correlation", "rules", i], message);
    if (files.length === 0 && problems.length === 0) {
      const folder = await Deno.stat(resolve(dir, pattern)).then((s) => s.isDirectory, () => false);
      at(
        ["correlation", "rules", i],
        folder
          ? `"${pattern}" is a folder; name its files, e.g. "${pattern.replace(/\/+$/, "")}/*.yaml"`
          : `no rule file matches "${pattern}"`,
      );
    }
    for (const path of files) {
      ruleFiles.push(path);
      const { loaded, value, errors: fileErrors } = await loadRuleFile(path, env);
      errors.push(...fileErrors);
      for (const [r, config] of (value?.rules ?? []).entries()) {
        const ruleAt = (p: PropertyKey[], message: string) =>
          errors.push({
            file: loaded.file,
            ...loaded.locate(["rules", r, ...p]),
            path: yamlPath(["rules", r, ...p]),
            message,
          });
        const where = `${loaded.file}:${loaded.locate(["rules", r, "id"]).line}`;
        if (seen.has(config.id)) {
          ruleAt(
            ["id"],
            `duplicate rule id "${config.id}" (first defined at ${seen.get(config.id)})`,
          );
        }
        seen.set(config.id, where);
        const rule = createRule(config);
        if (checkRule(rule, streams, labels, declared, loaded, r, ruleAt)) {
          rules.push(rule);
          ruleSpecs.push(config);
        }
      }
    }
  }
  return { rules, ruleSpecs, ruleFiles };
}

/** Both sides must name known entities, and every field must be a property of the right type. */
function checkRule(
  rule: Rule,
  streams: Map<string, CompiledStream>,
  labels: Map<string, EntityMapping>,
  declared: string[],
  loaded: LoadedYaml,
  index: number,
  at: (p: PropertyKey[], message: string) => void,
): boolean {
  let ok = true;
  for (const side of ["left", "right"] as const) {
    const entity = labels.get(rule[side]);
    if (!entity) {
      // Declared but not compiled (its stream failed): that error is reported already.
      if (!declared.includes(rule[side])) at([side, "entity"], unknownLabel(rule[side], declared));
      ok = false;
      continue;
    }
    for (const name of rule.fields[side]) {
      const prop = entity.properties.find((p) => p.name === name);
      const where = fieldPath(loaded, index, side, name);
      if (!prop) {
        const hint = didYouMean(name, entity.properties.map((p) => p.name));
        at(
          where,
          `"${name}" is not a property of ${entity.label}` +
            (hint ? ` (did you mean "${hint}"?)` : "") +
            `; its properties: ${entity.properties.map((p) => p.name).join(", ")}`,
        );
        ok = false;
      }
    }
  }
  return ok && checkTypes(rule, streams, labels, loaded, index, at);
}

function checkTypes(
  rule: Rule,
  streams: Map<string, CompiledStream>,
  labels: Map<string, EntityMapping>,
  loaded: LoadedYaml,
  index: number,
  at: (p: PropertyKey[], message: string) => void,
): boolean {
  const expected = FIELD_TYPES[rule.kind];
  if (!expected) return true;
  let ok = true;
  for (const side of ["left", "right"] as const) {
    const entity = labels.get(rule[side])!;
    const stream = streams.get(entity.stream)?.type;
    if (!stream) continue;
    for (const name of rule.fields[side]) {
      const field = entity.properties.find((p) => p.name === name)!.field;
      const type = fieldType(stream, field);
      if (type && !expected[side].includes(type)) {
        at(
          fieldPath(loaded, index, side, name),
          `"${name}" is ${type}; a ${rule.kind} rule needs ${expected[side].join(" or ")}`,
        );
        ok = false;
      }
    }
  }
  return ok;
}

/** The YAML path of the place in a rule that names a property, for a precise error position. */
function fieldPath(
  loaded: LoadedYaml,
  index: number,
  side: "left" | "right",
  name: string,
): PropertyKey[] {
  const rule = (loaded.value as { rules: Record<string, unknown>[] }).rules[index];
  const sel = rule[side] as Record<string, unknown> | undefined;
  if (sel?.field === name) return [side, "field"];
  const features = rule.features as Record<string, unknown>[] | undefined;
  const f = features?.findIndex((x) => x[side] === name) ?? -1;
  if (f >= 0) return ["features", f, side];
  return [side];
}

function checkEventTypes(types: string[], stream: CompiledStream, path: PropertyKey[], at: At) {
  types.forEach((t, i) => {
    if (!stream.eventTypes.includes(t)) {
      const hint = didYouMean(t, stream.eventTypes);
      at(
        [...path, i],
        `"${t}" is not an event type of stream ${stream.name}` +
          (hint ? ` (did you mean "${hint}"?)` : ""),
      );
    }
  });
}

function unknownField(field: string, stream: string, type: avro.Type): string {
  const hint = didYouMean(field.split(".")[0], fieldNames(type));
  return `"${field}" is not a field of stream ${stream}'s Avro schema` +
    (hint ? ` (did you mean "${hint}"?)` : "");
}

function unknownStream(name: string, spec: PipelineSpec): string {
  const hint = didYouMean(name, Object.keys(spec.streams));
  return `"${name}" is not a stream defined in streams` +
    (hint ? ` (did you mean "${hint}"?)` : "");
}

function unknownLabel(label: string, labels: string[]): string {
  const hint = didYouMean(label, labels);
  return `"${label}" is not an entity defined in entities` +
    (hint ? ` (did you mean "${hint}"?)` : "");
}

/** `metadata.dde_node_id` is stored as `dde_node_id`; a plain field keeps its name. */
function propertyOf(field: string): string {
  return field.split(".").at(-1)!;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
