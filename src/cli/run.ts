/** `ics run`: run the pipeline on a target until its input ends (or SIGINT/SIGTERM). */
import { parseArgs } from "node:util";
import { compile, run } from "../runtime/mod.ts";
import { COMMON_FLAGS, load } from "./_common.ts";
import type { Telemetry } from "../telemetry/mod.ts";

export const help = `Usage: ics run [--target NAME] [--input PATH] [--state DIR] [--spec FILE]

Run the pipeline. On a file input it stops at the end of the file, flushes and prints a summary;
SIGINT or SIGTERM finishes the batch in flight, flushes and exits cleanly.
${COMMON_FLAGS}
  --input PATH     read this file instead of the target's file source path
  --drain          stop once everything in the topics at start is processed (Kafka; a file
                   source always stops at its end)
  --quiet          print nothing but errors

Exit codes: 0 done, 1 invalid spec, 2 bad usage, 3 runtime failure.`;

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      spec: { type: "string" },
      target: { type: "string" },
      input: { type: "string" },
      state: { type: "string" },
      quiet: { type: "boolean" },
      drain: { type: "boolean" },
    },
  });
  const spec = await load(values.spec);
  const pipeline = await compile(spec, {
    target: values.target,
    input: values.input,
    stateDir: values.state,
    drain: values.drain,
    log: (level, message) => console.error(`${level}: ${message}`),
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    await pipeline.source.check();
    const result = await run(pipeline, controller.signal);
    if (!values.quiet) {
      console.log(
        summary(pipeline.target, pipeline.ctx.stateDir, result.elapsed_ms, result.telemetry),
      );
    }
    return 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await pipeline.close();
  }
}

function summary(target: string, state: string, ms: number, t: Telemetry): string {
  const received = t.get("events_received_total");
  const line = (name: string, value: string) => `  ${name.padEnd(14)}${value}`;
  const by = (series: { labels: Record<string, string>; value: number }[], label: string) =>
    series.sort((a, b) => (a.labels[label] ?? "").localeCompare(b.labels[label] ?? ""))
      .map((s) => `${s.labels[label]} ${s.value}`).join(", ") || "none";
  const dlq = t.get("dlq_events_total");
  const rate = received / Math.max(ms / 1000, 1e-9);
  return [
    `ics: target "${target}" finished in ${(ms / 1000).toFixed(2)} s, ${
      Math.round(rate).toLocaleString("en")
    } events/s`,
    line("events read", `${received} (${by(t.series("events_received_total"), "stream")})`),
    line("processed", `${t.get("events_processed_total")}`),
    line("duplicates", `${t.get("dedup_dropped_total")} dropped`),
    line(
      "entities",
      `${t.get("entity_versions_total")} node versions, ${
        t.get("relationship_versions_total")
      } relationship versions`,
    ),
    line(
      "links",
      `${t.get("link_versions_total")} link versions, ${
        t.get("correlation_links_retracted_total")
      } retracted`,
    ),
    line("by rule", by(t.series("correlation_links_total"), "rule")),
    line(
      "dead letters",
      `${dlq}${dlq ? ` (${by(t.series("dlq_events_total"), "category")})` : ""}`,
    ),
    line("state", state),
    received === 0
      ? "\n  Nothing new to read: the input was already processed (delete the state folder or pass --state to start over)."
      : "",
  ].filter(Boolean).join("\n");
}
