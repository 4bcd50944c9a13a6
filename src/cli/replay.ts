/**
 * `ics replay`: rebuild the graph and the metrics from the input log into empty stores, through
 * the one runtime (`compile()` + `run()`), with the source, dedup and dead-letter components of
 * the target replaced by the replay's own (see the help text for what that guarantees).
 * @module
 */
import { compile, run } from "../runtime/mod.ts";
import { type GraphStore, readerOf } from "../core/component.ts";
import { dedupStores } from "../dedup/mod.ts";
import { deadLetterQueues } from "../sinks/mod.ts";
import { createKafka } from "../kafka/mod.ts";
import { EXIT, load, QUIET, STORE, targetOf } from "./_common.ts";
import { command } from "./_command.ts";
import { boolean, time } from "./_flags.ts";
import { summary } from "./run.ts";

export const cli = command({
  name: "replay",
  summary: "rebuild the graph and metrics from the input log into empty stores (--from)",
  about:
    `Rebuild the graph and the metrics of a target from its input log at full speed, then exit with a
summary. A Kafka source is read by a fresh consumer group (a generated id, printed, deleted at the
end): the live runner's group and its committed offsets are never touched. The replay starts at
the earliest offset of every partition, or at each partition's first record at or after the --from
time (the log's record time, by default when the record was produced), and stops at the end
offsets present when it started. A file source is read again from its start (--from earliest; a
file has no record times).

What it guarantees:
  - it rebuilds into empty stores: when the graph already holds an iteration the log reaches, the
    replay stops (exit 1) before anything of that iteration is written; earlier iterations stay
    rebuilt. Delete the iteration (or the store) first, or pass --merge.
  - duplicates in the log are dropped by a dedup store of the replay's own (in memory): the live
    dedup keys (Redis) are neither read, so they cannot swallow the replay, nor written.
  - dead letters go to a file of the replay's own in the state folder, not to the target's
    dead-letter queue, which holds them already from the live run (see ics dlq redrive).
  - metric rows are idempotent per event: rows already stored stay as they are.`,
  flags: {
    from: time("WHERE", "where in the log to start", { also: ["earliest"], required: true }),
    merge: boolean(
      "fold the log into iterations already in the graph instead of stopping (events already " +
        "applied change nothing; missing ones are added)",
    ),
    ...QUIET,
    ...STORE,
  },
  exits: "0 done, 1 invalid spec or an iteration already stored, 2 bad usage, 3 runtime failure.",
});

/** The graph already holds an iteration the replay reached. */
class AlreadyStored extends Error {
  constructor(iterations: string[]) {
    const named = iterations.slice(0, 3).map((i) => `"${i}"`).join(", ");
    const more = iterations.length > 3 ? ` and ${iterations.length - 3} more` : "";
    super(
      `iteration${iterations.length > 1 ? "s" : ""} ${named}${more} ${
        iterations.length > 1 ? "are" : "is"
      } already in the graph`,
    );
  }
}

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const from = values.from;
  const start = from === "earliest" ? from : new Date(from).toISOString();
  const spec = await load(values.spec);
  const { name: target, target: t } = targetOf(spec, values.target);

  const id = `replay-${new Date().toISOString().replace(/[-:]|\.\d+/g, "")}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  const group = t.source.type === "kafka" ? `${t.source.group_id}.${id}` : undefined;
  const dlqFile = `${id}.dlq.jsonl`;
  const say = (text: string) => values.quiet || console.error(text);
  const rebuilt = new Set<string>();
  const pipeline = await compile(spec, {
    target,
    stateDir: values.state,
    drain: true,
    from,
    replace: {
      source: group ? { ...t.source, group_id: group } : t.source,
      dedup: dedupStores.memory.schema.parse({ type: "memory" }),
      dlq: deadLetterQueues.file.schema.parse({ type: "file", path: dlqFile }),
    },
    modelStore: values.merge ? undefined : (graph) => emptyOnly(graph, rebuilt),
    log: (level, message) => {
      if (level !== "info" || !values.quiet) console.error(`${level}: ${message}`);
    },
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    say(
      `ics replay: ${id}: target "${target}" from ${start}${
        group ? `, consumer group "${group}"` : ""
      }${values.merge ? ", merging into stored iterations" : ""}`,
    );
    await pipeline.source.check();
    const result = await run(pipeline, controller.signal);
    const letters = result.telemetry.get("dlq_events_total");
    if (!values.quiet) {
      console.log(summary(target, pipeline.ctx.stateDir, result.elapsed_ms, result.telemetry, {
        lines: [
          ["replay", `${id}${group ? ` (consumer group ${group}, deleted)` : ""}`],
          ...(letters ? [["replay dlq", `${dlqFile} (state folder)`] as [string, string]] : []),
        ],
        empty: `Nothing to replay from ${start}.`,
      }));
    }
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof AlreadyStored)) throw error;
    const done = rebuilt.size === 1 ? "1 iteration was" : `${rebuilt.size} iterations were`;
    console.error(
      `ics replay: stopped: ${error.message}; a replay rebuilds into empty stores (${done} rebuilt before it). Delete it from the graph, or pass --merge to fold the log into what is stored.`,
    );
    return EXIT.invalid;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await pipeline.close();
    if (group && t.source.type === "kafka") await deleteGroup(t.source, group);
  }
}

/**
 * The graph store as the replay's graph model sees it: loading an iteration that holds anything
 * the replay did not write itself stops the replay. The model loads an iteration before its first
 * batch is correlated, so nothing of a stored iteration is ever written.
 */
function emptyOnly(store: GraphStore, rebuilt: Set<string>): GraphStore {
  return {
    ...readerOf(store),
    write: (changes) => store.write(changes),
    query: (q) => store.query(q),
    check: () => store.check(),
    close: () => store.close(),
    async load(iterations) {
      const loaded = await store.load(iterations);
      const stored = new Set(
        loaded.versions.map((v) => v.iteration_id)
          .filter((i) => !rebuilt.has(i)),
      );
      if (stored.size) throw new AlreadyStored([...stored].sort());
      for (const i of iterations) rebuilt.add(i);
      return loaded;
    },
  };
}

/** A replay's consumer group is of no use afterwards: remove it (best effort). */
async function deleteGroup(config: Parameters<typeof createKafka>[0], group: string) {
  const admin = (await createKafka(config)).admin();
  try {
    await admin.connect();
    await admin.deleteGroups([group]);
  } catch (error) {
    // Nothing was ever consumed (nothing to replay): the group was never created.
    const groups = (error as { groups?: { error?: { type?: string } }[] }).groups;
    if (groups?.every((g) => g.error?.type === "GROUP_ID_NOT_FOUND")) return;
    console.error(
      `ics replay: warn: consumer group "${group}" not deleted: ${(error as Error).message}`,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
