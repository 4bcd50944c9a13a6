/**
 * A small client for the Confluent Schema Registry API (Confluent, or Apicurio Registry under
 * `/apis/ccompat/v7`), over `fetch`. Subjects follow the TopicNameStrategy: `<topic>-value`.
 *
 * Network failures and 5xx answers are {@link RetriableError}s; 4xx answers are plain errors
 * whose message names the subject or id and quotes the registry's own message.
 *
 * Apicurio differs from Confluent in two ways this client hides: the compatibility of a subject
 * can be set before its first version exists (Confluent: also accepted), and a compatibility check
 * against a subject that does not exist answers `is_compatible: true` instead of 404, so
 * {@link Registry.checkCompatibility} looks the subject up first and reports `registered: false`.
 * @module
 */
import { RetriableError } from "../core/errors.ts";
import { redactError, rememberSecret } from "../core/secrets.ts";
import { CONTRACT_COMPATIBILITY } from "./_evolution.ts";

export { CONTRACT_COMPATIBILITY, evolutionProblem } from "./_evolution.ts";

export type Compatibility =
  | "NONE"
  | "BACKWARD"
  | "BACKWARD_TRANSITIVE"
  | "FORWARD"
  | "FORWARD_TRANSITIVE"
  | "FULL"
  | "FULL_TRANSITIVE";

/** A registered schema version. `schema` is the schema text (JSON for Avro). */
export interface SchemaVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

export interface RegistryOptions {
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** Basic auth, when the registry needs it. */
  username?: string;
  password?: string;
}

export interface Registry {
  readonly url: string;
  /**
   * Set the subject's compatibility (default FULL_TRANSITIVE, the event contract's rule), then
   * register the schema; its global id.
   */
  register(subject: string, schema: string | object, options?: {
    compatibility?: Compatibility;
  }): Promise<number>;
  /** The schema text of a global id; cached (ids are immutable). */
  schemaById(id: number): Promise<string>;
  /** The latest version of a subject, or undefined when the subject does not exist. */
  latest(subject: string): Promise<SchemaVersion | undefined>;
  /** Every version of a subject, oldest first ([] when the subject does not exist). */
  versions(subject: string): Promise<SchemaVersion[]>;
  /** Whether `schema` may be registered next under the subject's compatibility rule. */
  checkCompatibility(subject: string, schema: string | object): Promise<{
    registered: boolean;
    compatible: boolean;
  }>;
  setCompatibility(subject: string, level: Compatibility): Promise<void>;
}

/** TopicNameStrategy: the value subject of a topic. */
export const valueSubject = (topic: string): string => `${topic}-value`;

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

/** An error answer of the registry (HTTP status and Confluent `error_code`). */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(message: string, readonly status: number, readonly code?: number) {
    super(message);
  }
}

/**
 * A registry client. Credentials in the URL (`https://user:${REGISTRY_PASSWORD}@host/...`) become
 * basic auth: fetch refuses URLs with credentials, and messages show the URL without them.
 */
export function createRegistry(url: string, options: RegistryOptions = {}): Registry {
  const { base, username, password } = splitCredentials(url.replace(/\/+$/, ""));
  rememberSecret(password);
  const user = options.username ?? username;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const auth = user !== undefined
    ? `Basic ${btoa(`${user}:${options.password ?? password ?? ""}`)}`
    : undefined;
  const byId = new Map<number, Promise<string>>();

  async function call<T>(method: string, path: string, what: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          accept: CONTENT_TYPE,
          ...(body !== undefined ? { "content-type": CONTENT_TYPE } : {}),
          ...(auth ? { authorization: auth } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new RetriableError(
        `schema registry at "${base}" is unreachable (${what}): ${redactError(error)}`,
      );
    }
    const text = await response.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch { /* not JSON: reported below */ }
    if (response.ok && json !== undefined) return json as T;
    const message = typeof json?.message === "string" ? json.message : text.slice(0, 200);
    const detail = `schema registry: ${what} failed with HTTP ${response.status}: ${message}`;
    if (response.status >= 500 || response.status === 429) throw new RetriableError(detail);
    throw new RegistryError(detail, response.status, json?.error_code as number | undefined);
  }

  const text = (schema: string | object) =>
    typeof schema === "string" ? schema : JSON.stringify(schema);
  const enc = encodeURIComponent;

  const registry: Registry = {
    url: base,
    async register(subject, schema, opts = {}) {
      await registry.setCompatibility(subject, opts.compatibility ?? CONTRACT_COMPATIBILITY);
      const r = await call<{ id: number }>(
        "POST",
        `/subjects/${enc(subject)}/versions`,
        `registering a schema under subject "${subject}"`,
        { schema: text(schema), schemaType: "AVRO" },
      );
      return r.id;
    },
    schemaById(id) {
      let cached = byId.get(id);
      if (!cached) {
        cached = call<{ schema: string }>("GET", `/schemas/ids/${id}`, `looking up schema id ${id}`)
          .then((r) => r.schema);
        byId.set(id, cached);
        // A failed lookup is not cached: the next batch asks again.
        cached.catch(() => byId.delete(id));
      }
      return cached;
    },
    async latest(subject) {
      try {
        const r = await call<SchemaVersion>(
          "GET",
          `/subjects/${enc(subject)}/versions/latest`,
          `reading the latest version of subject "${subject}"`,
        );
        return { subject: r.subject, version: r.version, id: r.id, schema: r.schema };
      } catch (error) {
        if (error instanceof RegistryError && error.status === 404) return undefined;
        throw error;
      }
    },
    async versions(subject) {
      let numbers: number[];
      try {
        numbers = await call<number[]>(
          "GET",
          `/subjects/${enc(subject)}/versions`,
          `listing the versions of subject "${subject}"`,
        );
      } catch (error) {
        if (error instanceof RegistryError && error.status === 404) return [];
        throw error;
      }
      return await Promise.all(numbers.map(async (v) => {
        const r = await call<SchemaVersion>(
          "GET",
          `/subjects/${enc(subject)}/versions/${v}`,
          `reading version ${v} of subject "${subject}"`,
        );
        return { subject: r.subject, version: r.version, id: r.id, schema: r.schema };
      }));
    },
    async checkCompatibility(subject, schema) {
      if (!(await registry.latest(subject))) return { registered: false, compatible: true };
      const r = await call<{ is_compatible: boolean }>(
        "POST",
        `/compatibility/subjects/${enc(subject)}/versions/latest`,
        `checking compatibility with subject "${subject}"`,
        { schema: text(schema), schemaType: "AVRO" },
      );
      return { registered: true, compatible: r.is_compatible === true };
    },
    async setCompatibility(subject, level) {
      await call("PUT", `/config/${enc(subject)}`, `setting compatibility of "${subject}"`, {
        compatibility: level,
      });
    },
  };
  return registry;
}

/** A URL's user and password (decoded) and the URL without them. */
function splitCredentials(url: string): { base: string; username?: string; password?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { base: url };
  }
  if (!u.username && !u.password) return { base: url };
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  return { base: u.toString().replace(/\/+$/, ""), username, password };
}
