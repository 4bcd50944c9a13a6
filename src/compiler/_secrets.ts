/**
 * What the spec loader does about secrets: a password written literally in the spec (which is
 * committed, reviewed and printed by editors) is an error, since secrets must come from the
 * environment (`${VAR}`) or a file the spec names (`password_file`); and the files a target names
 * (`*_file`: secrets, CA certificates, client keys) resolve against the spec's folder.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { visitSecrets } from "../core/secrets.ts";
import { type LoadedYaml, yamlPath } from "../yaml/mod.ts";
import type { PipelineSpec } from "./_schema.ts";

/** Every password in the targets that does not come from an environment variable. */
export function literalSecrets(
  loaded: LoadedYaml,
  at: (path: PropertyKey[], message: string) => void,
): void {
  const targets = (loaded.value as { targets?: unknown } | undefined)?.targets;
  visitSecrets(targets, ["targets"], (secret, path) => {
    if (secret === "" || loaded.fromEnv.has(yamlPath(path))) return;
    const what = path.at(-1) === "password" ? "a password" : "the password in this URL";
    at(
      path,
      `${what} must not be written in the spec: take it from the environment ("\${VAR}") ` +
        `or name a file holding it (password_file)`,
    );
  });
}

/** `*_file` settings of every target as absolute paths (relative ones are relative to `dir`). */
export function resolveFiles(spec: PipelineSpec, dir: string): void {
  const walk = (value: unknown) => {
    if (!value || typeof value !== "object") return;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === "string" && k.endsWith("_file") && !isAbsolute(v)) {
        (value as Record<string, unknown>)[k] = resolve(dir, v);
      } else walk(v);
    }
  };
  walk(spec.targets);
}
