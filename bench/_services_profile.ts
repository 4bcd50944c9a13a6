/**
 * Where a V8 CPU profile (`deno run --cpu-prof`) spent its time: self time by area (an npm
 * package, a `src/` folder, the runtime, idle) and the hottest functions.
 * @module
 */
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The newest `.cpuprofile` of the folder, summarised in a few lines. */
export async function profileSummary(dir: string, top = 12): Promise<string> {
  const files: { name: string; mtime: number }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".cpuprofile")) {
      files.push({
        name: e.name,
        mtime: (await Deno.stat(join(dir, e.name))).mtime?.getTime() ?? 0,
      });
    }
  }
  if (!files.length) return `no .cpuprofile in ${dir}`;
  const file = join(dir, files.sort((a, b) => b.mtime - a.mtime)[0].name);
  const profile: Profile = JSON.parse(await Deno.readTextFile(file));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  );
  let total = 0;
  const areas = new Map<string, number>(), functions = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    total += us;
    const a = area(f.url, f.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const name = `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `CPU profile of the drained pipeline (${file}), ${(total / 1e6).toFixed(1)} s sampled`,
    `self time by area: ${
      sorted(areas).slice(0, 10).map(([a, us]) => `${a} ${pct(us)}`).join(", ")
    }`,
    `hottest functions (self):`,
    ...sorted(functions).slice(0, top).map(([f, us]) => `  ${pct(us).padStart(6)}  ${f}`),
  ].join("\n");
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const npm = /node_modules\/\.deno\/([^/]+?)@[\d.]+/.exec(url) ??
    /npm\/[^/]+\/([^/]+)\//.exec(url);
  if (npm) return npm[1];
  const src = /\/(src\/[^/]+|bench)\//.exec(url);
  if (src) return src[1];
  if (url.startsWith("ext:") || url.startsWith("node:")) return "deno runtime";
  return shortUrl(url);
}

const shortUrl = (url: string) =>
  url.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, "$1/").replace(
    /node_modules\/\.deno\/([^/]+)\/node_modules\/[^/]+\//,
    "$1/",
  );
