/** A JSONL corpus of about `size` events (whole iterations) in a cache folder, generated once. */
import { corpus, eventsPerIteration, toJsonl } from "./corpus.ts";

export async function corpusFile(cache: string, size: number, seed = 1): Promise<string> {
  await Deno.mkdir(cache, { recursive: true });
  const path = `${cache}/corpus-${seed === 1 ? "" : `s${seed}-`}${size}.jsonl`;
  if (await Deno.stat(path).then(() => true, () => false)) return path;
  const iterations = Math.max(1, Math.round(size / eventsPerIteration()));
  using f = await Deno.open(`${path}.tmp`, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let chunk = "";
  for (const e of corpus({ iterations, seed })) {
    chunk += toJsonl(e);
    if (chunk.length > 1 << 20) await f.write(enc.encode(chunk)), chunk = "";
  }
  await f.write(enc.encode(chunk));
  await Deno.rename(`${path}.tmp`, path);
  return path;
}
