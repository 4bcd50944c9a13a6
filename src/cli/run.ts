/** `ics run`: run the pipeline on a target until its input ends (or SIGINT/SIGTERM). */
import { compile, type Pipeline, run } from "../runtime/mod.ts";
import { type CompiledSpec, formatErrors, loadSpec } from "../compiler/mod.ts";
import { stableStringify } from "../core/hash.ts";
import { dirname, resolve } from "node:path";
import { load, QUIET, STORE, targetOf } from "./_common.ts";
import { command } from "./_command.ts";
import { boolean, string } from "./_flags.ts";
import { createObserver, metricsPort, OBSERVE } from "./_observe.ts";
import { createTelemetry, type Telemetry } from "../telemetry/mod.ts";
import type { Context } from "../core/component.ts";
import { createLog } from "./_log.ts";

export const cli = command({
  name: "run",
  summary: "run the pipeline on a target (default: the embedded local target)",
  about:
    `Run the pipeline. On a file input it stops at the end of the file, flushes and prints a summary;
SIGINT or SIGTERM finishes the batch in flight, flushes and exits cleanly. While it runs, a live
status line is shown on stderr when stderr is a terminal (not with --quiet).`,
  flags: {
    input: string("PATH", "read this file instead of the target's file source path"),
    drain: boolean(
      "stop once everything in the topics at start is processed (Kafka; a file source always " +
        "stops at its end)",
    ),
    watch: boolean(
      "reload the correlation policy (rules and the correlation section) when pipeline.yaml or " +
        "a rule file changes; an invalid change is reported with its errors and the running " +
        "policy stays",
    ),
    ...OBSERVE,
    ...QUIET,
    ...STORE,
  },
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  targetOf(spec, values.target); // the same usage error as every command taking --target
  const observer = createObserver(values.quiet);
  const log = createLog({
    quiet: values.quiet,
    before: () => observer.clear(),
    processWarnings: true,
  });
  const telemetry = createTelemetry();
  const target = values.target ?? spec.spec.default_target;
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, stop);
  let pipeline: Pipeline | undefined;
  try {
    // The endpoint is up while the components start: /readyz says what the runner waits for.
    const serving = {
      spec,
      target,
      telemetry,
      port: metricsPort(values["metrics-port"], spec, target),
      pipeline: () => pipeline,
      log,
      api: values["no-api"] || !spec.spec.api.enabled
        ? undefined
        : { stateDir: resolve(values.state ?? ".ics") },
    };
    pipeline = await compile(spec, {
      target,
      input: values.input,
      stateDir: values.state,
      drain: values.drain,
      log,
      telemetry,
      signal: controller.signal,
      opening: () => observer.serve(serving),
    }).catch((error) => {
      if (!controller.signal.aborted) throw error;
      log("info", "stopped while starting");
      return undefined;
    });
    if (!pipeline) return 0;
    observer.attach(pipeline);
    const watcher = values.watch ? watchPolicy(spec, log) : undefined;
    const result = await run(pipeline, controller.signal, { reload: watcher?.reload }).finally(
      () => watcher?.close(),
    );
    await observer.stop();
    if (!values.quiet) {
      console.log(
        summary(pipeline.target, pipeline.ctx.stateDir, result.elapsed_ms, result.telemetry, {
          empty: pipeline.source.nothingNew?.(),
        }),
      );
    }
    return 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await observer.stop();
    await pipeline?.close();
    log.close();
  }
}

/** The closing summary of a run; `more` adds lines and replaces the nothing-to-read hint. */
export function summary(
  target: string,
  state: string,
  ms: number,
  t: Telemetry,
  more: { lines?: [string, string][]; empty?: string } = {},
): string {
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
    line(
      "duplicates",
      `${t.get("dedup_dropped_total")} dropped` +
        (t.get("dedup_collisions_total")
          ? `; ${t.get("dedup_collisions_total")} key collisions processed as distinct events (${
            by(t.series("dedup_collisions_total"), "stream")
          })`
          : ""),
    ),
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
    ...(more.lines ?? []).map(([name, value]) => line(name, value)),
    received === 0
      ? `\n  ${
        more.empty ??
          "Nothing new to read: the input was already processed (delete the state folder or pass --state to start over)."
      }`
      : "",
  ].filter(Boolean).join("\n");
}

/**
 * Watch the spec and its rule folders. `reload()` (called between batches) compiles the changed
 * spec: a new policy is returned for the runtime to swap in; an invalid spec is reported and the
 * running policy stays. Only the correlation policy is reloaded; other changes need a restart.
 */
function watchPolicy(current: CompiledSpec, log: Context["log"]) {
  const folders = new Set([current.dir, ...current.ruleFiles.map((f) => dirname(f))]);
  const fsWatcher = Deno.watchFs([...folders], { recursive: false });
  let changed = false;
  (async () => {
    for await (const e of fsWatcher) if (e.paths.some((p) => /\.ya?ml$/.test(p))) changed = true;
  })().catch(() => {});
  const outside = (s: CompiledSpec) => stableStringify({ ...s.spec, correlation: undefined });
  return {
    async reload(): Promise<CompiledSpec | undefined> {
      if (!changed) return undefined;
      changed = false;
      const { spec, errors } = await loadSpec(current.file);
      const policy = { component: "correlation" };
      if (!spec) {
        log(
          "error",
          `the changed spec is invalid; policy ${current.policy} keeps running\n` +
            formatErrors(errors),
          policy,
        );
        return undefined;
      }
      if (outside(spec) !== outside(current)) {
        log("warn", "changes outside the correlation policy take effect after a restart", policy);
      }
      if (spec.policy === current.policy) return undefined;
      log("info", `policy ${current.policy} → ${spec.policy}`, policy);
      current = spec;
      return spec;
    },
    close: () => fsWatcher.close(),
  };
}
