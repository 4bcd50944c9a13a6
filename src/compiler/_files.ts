/**
 * Reading the files a spec names. A spec is reviewed text that CI runs (a pull request may edit
 * it), so what it can make ics read is bounded:
 *
 * - Confinement: every input file the spec names (rule globs, Avro schemas, `quality.labels`,
 *   `quality.corpus`, a file source's `path`) must lie in the spec's folder tree once symlinks are
 *   resolved, or in a folder listed in `ICS_ALLOW_OUTSIDE` (a path list, like `PATH`). A link that
 *   stays inside is followed (Kubernetes ConfigMap mounts: `rules/x.yaml -> ..data/x.yaml`).
 *   Secret and certificate files (`*_file` of a target) are not confined: they live wherever the
 *   platform mounts them.
 * - Size and kind: a spec, rule or Avro schema file larger than 1 MiB, or one that is no regular
 *   file (a folder, a FIFO, `/dev/zero`), is refused unread (`readConfigFile`, `src/yaml`).
 * @module
 */
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** The environment variable listing folders outside the spec's folder that it may name. */
export const ALLOW_OUTSIDE = "ICS_ALLOW_OUTSIDE";

/** The folders a spec may read from, symlinks resolved: its own folder first. */
export interface Confinement {
  roots: string[];
}

/** The spec's folder and the folders `allow` (the value of ICS_ALLOW_OUTSIDE) lists. */
export async function confinement(dir: string, allow: string | undefined): Promise<Confinement> {
  const extra = (allow ?? "").split(delimiter).filter((p) => p.trim() !== "");
  return { roots: await Promise.all([dir, ...extra].map((p) => realPath(resolve(p)))) };
}

/**
 * Why the spec may not name `path` (absolute; `shown` is how the spec wrote it), or undefined when
 * it may: the path, symlinks resolved, must lie under one of the allowed folders.
 */
export async function outside(
  path: string,
  shown: string,
  confined: Confinement,
): Promise<string | undefined> {
  const real = await realPath(path);
  if (confined.roots.some((root) => within(real, root))) return undefined;
  const via = real === path ? "" : ` (it leads to "${real}")`;
  return `"${shown}" is outside the spec's folder${via}; ` +
    `only ${ALLOW_OUTSIDE} can allow another folder`;
}

/**
 * The files a rule glob names: `rules/*.yaml`, where `*` matches within one folder level (not a
 * leading dot, as in sh); no other glob syntax. Links are followed when they stay inside the
 * allowed folders; a link leading out of them, or to nothing, is a problem of the glob.
 */
export async function expandGlob(
  pattern: string,
  shown: string,
  confined: Confinement,
): Promise<{ files: string[]; problems: string[] }> {
  if (!pattern.includes("*")) {
    const problem = await outside(pattern, shown, confined);
    if (problem) return { files: [], problems: [problem] };
    const file = await Deno.stat(pattern).then((s) => s.isFile, () => false);
    return { files: file ? [pattern] : [], problems: [] };
  }
  const dir = dirname(pattern);
  const name = pattern.slice(dir.length + 1);
  const problem = await outside(dir, dirname(shown), confined);
  if (problem) return { files: [], problems: [problem] };
  const re = new RegExp(
    "^" + name.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*") + "$",
  );
  const files: string[] = [];
  const problems: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!re.test(entry.name) || (entry.name.startsWith(".") && !name.startsWith("."))) continue;
      const path = join(dir, entry.name);
      if (entry.isFile) files.push(path);
      else if (entry.isSymlink) {
        const link = join(dirname(shown), entry.name);
        const target = await Deno.stat(path).catch(() => undefined);
        const leaves = await outside(path, link, confined);
        if (leaves) problems.push(leaves);
        else if (!target) problems.push(`"${link}" is a link to a file that does not exist`);
        else if (target.isFile) files.push(path);
      }
    }
  } catch {
    return { files: [], problems: [] };
  }
  return { files: files.sort(), problems: problems.sort() };
}

/** True when `path` is `root` or lies under it (`..data` is a name, not a step up). */
function within(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || !(rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/** `path` with every symlink resolved, also when its tail does not exist (yet). */
async function realPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realPath(parent), basename(path));
  }
}
