/**
 * The connection settings the service components share (Redis, Postgres, Neo4j, Kafka), as zod
 * fields and checks each component's config composes: a password from the environment or a file
 * (see `secrets.ts`), a CA file, timeouts. One wording and one rule per setting, wherever it
 * appears.
 * @module
 */
import { z } from "zod";

/**
 * `password`, from the environment (`${<SERVICE>_PASSWORD}`), and `password_file`, a file
 * holding it. `what` names the password ("SASL password"); `overridesUrl` when the service's URL
 * may hold one too.
 */
export function passwordFields(
  service: string,
  options: { what?: string; overridesUrl?: boolean } = {},
) {
  const what = options.what ?? "password";
  const env = `\${${service.toUpperCase()}_PASSWORD}`;
  return {
    password: z.string().optional().describe(
      `${what[0].toUpperCase()}${what.slice(1)}, from the environment: "${env}" (or use ` +
        `password_file)${options.overridesUrl ? "; overrides one in the URL" : ""}.`,
    ),
    password_file: z.string().min(1).optional().describe(
      `File holding the ${what} (e.g. /run/secrets/${service}); relative to the spec's folder.`,
    ),
  };
}

interface Password {
  password?: string;
  password_file?: string;
}

/** An optional password, given at most one way (`.check(notBothPasswords)`). */
export const notBothPasswords = z.refine<Password>(
  (c) => !(c.password !== undefined && c.password_file !== undefined),
  { message: "give the password as password or password_file, not both", path: ["password_file"] },
);

/** A required password, given exactly one way; `what` names it ("SASL password"). */
export function onePassword(what: string) {
  return z.refine<Password>(
    (c) => (c.password === undefined) !== (c.password_file === undefined),
    { message: `give the ${what} as password or password_file (exactly one)` },
  );
}

/**
 * `ca_file`: the PEM file of the CA that signed the peer's certificate (`signed`), instead of
 * the system CAs; `note` says when it applies.
 */
export function caFile(note: string, signed = "the server's certificate") {
  return z.string().min(1).optional().describe(`PEM file of the CA that signed ${signed}${note}.`);
}

/** `connect_timeout_ms`: how long a connection may take. */
export function connectTimeout(defaultMs: number) {
  return z.number().int().min(1).default(defaultMs).describe(
    "How long to wait for a connection before the call fails (and is retried).",
  );
}

/** `command_timeout_ms`: how long a reply may take. */
export function commandTimeout(defaultMs: number) {
  return z.number().int().min(1).default(defaultMs).describe(
    "How long to wait for a reply before the call fails (and is retried).",
  );
}
