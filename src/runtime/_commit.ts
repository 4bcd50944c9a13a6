/**
 * Commit a written batch: dead letters, then the source position, then the dedup keys. Dead
 * letters come last among the writes: a transactional queue (Kafka) commits them together with the
 * source offsets, and offsets may move only once every other sink holds the batch. A dedup key is
 * marked seen only after that, and only for the events written: a dead-lettered event, once fixed
 * and re-injected, is not a duplicate.
 * @module
 */
import type { DedupEntry, SourceBatch } from "../core/component.ts";
import type { DeadLetter, Envelope } from "../core/types.ts";
import { fault } from "../core/fault.ts";
import { confidenceBand } from "../telemetry/mod.ts";
import type { BatchTrace } from "../telemetry/tracing.ts";
import type { Pipeline } from "./_compile.ts";
import type { Call } from "./_call.ts";
import type { Written } from "./_write.ts";

export async function commit(
  p: Pipeline,
  call: Call,
  batch: SourceBatch,
  trace: BatchTrace,
  dead: DeadLetter[],
  keys: DedupEntry[],
): Promise<void> {
  const { offsets } = batch;
  let stage = trace.stage("write_dlq");
  if (p.dlq.writeAndCommit && offsets) {
    await call("dlq", () => p.dlq.writeAndCommit!(dead, offsets));
    fault("dlq");
    await call("source", () => batch.ack({ committed: true }));
    stage();
    stage = trace.stage("commit");
  } else {
    await call("dlq", () => p.dlq.write(dead));
    fault("dlq");
    stage();
    stage = trace.stage("commit");
    await call("source", () => batch.ack());
  }
  fault("ack");
  await call("dedup", () => p.dedup.commit(keys));
  stage();
}

/** Count what a committed batch did: versions, links, dead letters, latency. */
export function count(p: Pipeline, written: Written, dead: DeadLetter[]): void {
  const t = p.telemetry;
  const committed = Date.now();
  for (const e of written.events) latency(p, committed, e);
  for (const applied of written.applied) {
    const opened = { node: 0, relationship: 0, link: 0 };
    for (const v of applied.changes.opened) {
      opened[v.kind]++;
      if (v.kind === "link") {
        t.add("links_by_confidence_total", 1, { band: confidenceBand(Number(v.props.confidence)) });
      }
    }
    t.add("entity_versions_total", opened.node);
    t.add("relationship_versions_total", opened.relationship);
    t.add("link_versions_total", opened.link);
    for (const c of applied.changes.closed) t.add("versions_closed_total", 1, { kind: c.kind });
    for (const [rule, n] of applied.linksByRule) t.add("correlation_links_total", n, { rule });
    t.add("correlation_links_retracted_total", applied.retracted);
  }
  for (const d of dead) t.add("dlq_events_total", 1, { category: d.category });
  t.add("batches_total");
}

/** End to end: the event's time to the commit of its batch (every sink holds it). */
function latency(p: Pipeline, committed: number, e: Envelope) {
  p.telemetry.observe("e2e_latency_seconds", (committed - e.event.timestamp) / 1000, {
    stream: e.stream,
  });
}
