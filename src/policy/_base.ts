/**
 * The base policy of `plan`: a folder (or a spec file) as it is, or a git revision, whose spec,
 * rule files and Avro schemas are copied out of git (`git cat-file`) into a temporary folder
 * with the same layout, so the spec loads exactly as it would in a checkout of that revision.
 * @module
 */
import { parse } from "yaml";
import { basename, dirname, join, posix, relative, resolve } from "node:path";
import { UserError } from "../core/errors.ts";

export interface BaseSpec {
  /** The spec file to load. */
  specFile: string;
  /** How to name the base in reports: the folder, or `ref (sha)`. */
  label: string;
  /** Turn a path under the temporary folder back into `ref:path` (for error messages). */
  display(path: string): string;
  cleanup(): Promise<void>;
}

/** Resolve `--base`: a folder holding the spec, a spec file, or a git revision. */
export async function openBase(base: string, workingSpec: string): Promise<BaseSpec> {
  const stat = await Deno.stat(base).catch(() => undefined);
  const none = { display: (p: string) => p, cleanup: () => Promise.resolve() };
  if (stat?.isDirectory) {
    return { specFile: join(base, basename(workingSpec)), label: base, ...none };
  }
  if (stat?.isFile) return { specFile: base, label: base, ...none };
  return await fromGit(base, resolve(workingSpec));
}

async function fromGit(ref: string, spec: string): Promise<BaseSpec> {
  const cwd = dirname(spec);
  const top = (await git(cwd, ["rev-parse", "--show-toplevel"])).trim();
  const sha = (await git(cwd, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], true))
    .trim();
  if (!sha) {
    throw new UserError(`--base "${ref}" is neither a folder, a spec file nor a git revision`);
  }
  const specPath = relative(top, spec).split("\\").join("/");
  const files = new Set((await git(top, ["ls-tree", "-r", "--name-only", sha])).split("\n"));
  if (!files.has(specPath)) throw new UserError(`${specPath} does not exist at ${ref}`);
  const text = await git(top, ["cat-file", "blob", `${sha}:${specPath}`]);
  const dir = posix.dirname(specPath);
  const wanted = new Set([specPath]);
  let doc: Record<string, unknown> = {};
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch { /* loadSpec reports the syntax error with its position */ }
  const streams = (doc.streams ?? {}) as Record<string, { schema?: unknown }>;
  for (const s of Object.values(streams)) {
    if (typeof s?.schema === "string") wanted.add(posix.normalize(posix.join(dir, s.schema)));
  }
  const rules = ((doc.correlation ?? {}) as { rules?: unknown }).rules;
  for (const pattern of Array.isArray(rules) ? rules : []) {
    if (typeof pattern !== "string") continue;
    const re = globRegex(posix.normalize(posix.join(dir, pattern)));
    for (const f of files) if (re.test(f)) wanted.add(f);
  }
  const tmp = await Deno.makeTempDir({ prefix: "ics-plan-base-" });
  for (const f of wanted) {
    if (!files.has(f) || f.startsWith("../")) continue;
    await Deno.mkdir(join(tmp, posix.dirname(f)), { recursive: true });
    await Deno.writeFile(join(tmp, f), await gitBytes(top, ["cat-file", "blob", `${sha}:${f}`]));
  }
  return {
    specFile: join(tmp, specPath),
    label: `${ref} (${sha.slice(0, 10)})`,
    display: (p) => p.startsWith(tmp) ? `${ref}:${relative(tmp, p)}` : p,
    cleanup: () => Deno.remove(tmp, { recursive: true }).catch(() => {}),
  };
}

/** `rules/*.yaml`: `*` matches within one folder, as in the spec loader. */
function globRegex(pattern: string): RegExp {
  return new RegExp(
    "^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*") +
      "$",
  );
}

async function git(cwd: string, args: string[], allowFailure = false): Promise<string> {
  return new TextDecoder().decode(await gitBytes(cwd, args, allowFailure));
}

async function gitBytes(cwd: string, args: string[], allowFailure = false): Promise<Uint8Array> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new UserError("reading a git revision runs git: allow it with --allow-run=git");
    }
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError("git is not installed: pass a folder as --base instead");
    }
    throw error;
  }
  if (!out.success && !allowFailure) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new UserError(`git ${args[0]} failed: ${why || `exit ${out.code}`}`);
  }
  return out.success ? out.stdout : new Uint8Array();
}
