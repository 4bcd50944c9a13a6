/**
 * Decode and validate a batch's records (see `src/codecs`), and give each event its idempotency
 * key and content digest (`src/dedup`). A record that is no valid event is dead-lettered.
 * @module
 */
import type { Envelope, RawRecord } from "../core/types.ts";
import { breather } from "../core/breathe.ts";
import { identify } from "../dedup/mod.ts";
import type { Pipeline } from "./_compile.ts";
import type { Letters } from "./_letters.ts";

export async function decode(p: Pipeline, records: RawRecord[], dead: Letters) {
  const t = p.telemetry;
  const breathe = breather();
  const decoded: Envelope[] = [];
  for (const record of records) {
    await breathe();
    t.add("bytes_received_total", record.value.length);
    const d = p.decoder(record);
    t.add("events_received_total", 1, { stream: d.stream ?? record.stream ?? "unknown" });
    if (!d.ok) {
      dead.add(record, d.category, d.reason, d.stream);
      continue;
    }
    const id = identify(p.spec.streams.get(d.stream)!, d.event);
    decoded.push({ record, stream: d.stream, event: d.event, ...id });
  }
  return decoded;
}
