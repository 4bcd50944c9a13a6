/**
 * Secrets: passwords reach a component only from the environment (`${VAR}` in the spec) or from a
 * file the spec names (`password_file`), and never leave the process in text. Every secret the
 * spec loader or {@link readSecret} sees is remembered, and {@link redact} replaces each one (and
 * any password in a URL) by `***`. It is applied where text leaves: log lines, error messages,
 * validation errors, dead-letter reasons, span statuses and `/readyz`.
 * @module
 */
import { UserError } from "./errors.ts";

export const MASK = "***";

/** Shorter values would mask ordinary words in messages; a password that short is no secret. */
const MIN_LENGTH = 4;
const known = new Set<string>();

/** Remember a secret so that {@link redact} masks it (also in its URL-encoded form). */
export function rememberSecret(value: string | undefined): void {
  if (!value || value.length < MIN_LENGTH) return;
  known.add(value);
  const encoded = encodeURIComponent(value);
  if (encoded !== value) known.add(encoded);
}

// scheme://user:password@ — the password part, whatever the scheme (postgres, redis, http, ...).
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@"']*:)([^\s/@"']+)@/gi;

/** `text` with every remembered secret and every URL password replaced by `***`. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, `$1${MASK}@`);
  // Longest first: a secret that contains another is masked whole.
  for (const secret of [...known].sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(secret, MASK);
  }
  return out;
}

/** The message of an error (or the text of anything thrown), redacted. */
export function redactError(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/** Strings that are secrets in a parsed config: every `password` value and URL password. */
export function rememberSecretsIn(value: unknown): void {
  visitSecrets(value, [], (secret) => rememberSecret(secret));
}

/**
 * Calls `found` for each secret in a config tree, with its path: values of keys named `password`
 * and the password part of URLs.
 */
export function visitSecrets(
  value: unknown,
  path: PropertyKey[],
  found: (secret: string, path: PropertyKey[]) => void,
): void {
  if (typeof value === "string") {
    if (path.at(-1) === "password") found(value, path);
    else {
      const password = urlPassword(value);
      if (password) found(password, path);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => visitSecrets(v, [...path, i], found));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) visitSecrets(v, [...path, k], found);
  }
}

/** The decoded password of a URL, if it has one. */
export function urlPassword(text: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(text)) return undefined;
  try {
    const password = new URL(text).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A secret given as a value (from `${VAR}`) or as a file holding it (`*_file`, e.g. a Docker or
 * Kubernetes secret); the file's trailing newline is not part of the secret. `what` names the
 * setting in the error when the file cannot be read (never its content).
 */
export async function readSecret(
  value: string | undefined,
  file: string | undefined,
  what: string,
): Promise<string | undefined> {
  if (file === undefined) {
    rememberSecret(value);
    return value;
  }
  const text = await readConfigFile(file, what);
  const secret = text.replace(/\r?\n$/, "");
  rememberSecret(secret);
  return secret;
}

/** A file a config names (secret, CA certificate, client key), as text; one-line error if not. */
export async function readConfigFile(file: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error; // reported as a permission problem
    const why = error instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read";
    throw new UserError(`${what}: file "${file}" ${why}`);
  }
}

/** PEM files of a TLS setting (CA, client certificate and key); the key is a secret. */
export async function readTls(
  files: { ca_file?: string; cert_file?: string; key_file?: string },
  what: string,
): Promise<{ ca?: string; cert?: string; key?: string }> {
  const out: { ca?: string; cert?: string; key?: string } = {};
  if (files.ca_file) out.ca = await readConfigFile(files.ca_file, `${what} ca_file`);
  if (files.cert_file) out.cert = await readConfigFile(files.cert_file, `${what} cert_file`);
  if (files.key_file) {
    out.key = await readConfigFile(files.key_file, `${what} key_file`);
    rememberSecret(out.key.trim());
  }
  return out;
}
