/** Repo-relative paths as the event streams write them, made comparable. */

/** Strip leading `./`, turn `\` into `/`, collapse duplicate slashes and `/./`, drop a trailing slash. */
export function normalizePath(path: string): string {
  let p = path.trim().replaceAll("\\", "/").replace(/\/{2,}/g, "/").replace(/\/(\.\/)+/g, "/");
  while (p.startsWith("./")) p = p.slice(2);
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}
