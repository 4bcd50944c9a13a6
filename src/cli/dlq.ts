/**
 * `ics dlq redrive`: re-inject dead letters through the pipeline (the `dlq` source in place of
 * the target's) and report, per category, what recovered and what failed again, and why.
 * @module
 */
import { resolve } from "node:path";
import { compile, type Pipeline, run } from "../runtime/mod.ts";
import { DLQ_CATEGORIES, type DlqCategory, type RawRecord } from "../core/types.ts";
import { UserError } from "../core/errors.ts";
import { identify } from "../dedup/mod.ts";
import { MappingError } from "../mapping/mod.ts";
import { schema as dlqSourceSchema } from "../sources/dlq.ts";
import { describePosition as describe } from "../dead_letters/mod.ts";
import { DRY_RUN, EXIT, JSON_OUTPUT, load, STORE, targetOf } from "./_common.ts";
import { command } from "./_command.ts";
import { oneOf } from "./_flags.ts";

export const cli = command({
  name: "dlq",
  summary: 'dead letters: "dlq redrive" re-injects them after a fix and reports the outcome',
  args: "redrive",
  about:
    `Re-inject the dead letters of a target's dead-letter queue through the pipeline, after a fix of a
rule, mapping, validation setting or schema, and report per category how many recovered and which
failed again, with their new reason. A letter is processed as its source read it (same bytes,
format, stream and key; its original position). One that fails again is appended to the queue as
a new letter counting its redrives ("redriven"): pending for the next redrive, after the next fix.

What it guarantees:
  - each letter is redriven once: a cursor moves past it once its outcome is stored (a file queue:
    <file>.redrive.json next to it; a Kafka queue: the consumer group <source group>.redrive, and
    <source group>.redrive.<category> with --category, committed in one transaction with the
    letters that failed again). Redriving again never applies a recovered event twice, and the
    pending letters never multiply (each still-broken one is appended once per redrive).
  - --category C redrives only C's letters; the others stay pending.
  - recovered events pass the target's dedup: one processed meanwhile (resent by its producer)
    counts as a duplicate and is not applied twice.
  - --dry-run decodes, validates, dedup-checks and maps the pending letters and reports what
    would recover; it writes nothing and moves no cursor.`,
  flags: {
    category: oneOf(DLQ_CATEGORIES, "C", "only letters of this category"),
    ...DRY_RUN,
    ...JSON_OUTPUT,
    ...STORE,
  },
  exits: "0 done (letters that failed again are reported, not an error), 1 invalid spec, " +
    "2 bad usage, 3 runtime failure.",
});

interface Counts {
  redriven: number;
  recovered: number;
  failed: number;
  duplicates: number;
}

export interface RedriveReport {
  target: string;
  queue: string;
  dry_run: boolean;
  categories: Partial<Record<DlqCategory, Counts>>;
  total: Counts;
  /** Letters that failed again: where they came from, their old and new category, the new reason. */
  failures: { position: string; was: DlqCategory; category: DlqCategory; reason: string }[];
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = cli.parse(args);
  if (positionals[0] !== "redrive" || positionals.length > 1) {
    throw new UserError(
      `${positionals[0] ? `unknown dlq command "${positionals.join(" ")}"` : "missing command"}; ` +
        `commands: redrive`,
    );
  }
  const category = values.category;
  const dryRun = values["dry-run"];
  const spec = await load(values.spec);
  const { name: target, target: t } = targetOf(spec, values.target);
  const kafka = t.source.type === "kafka" ? t.source : undefined;
  const group = `${kafka?.group_id ?? "ics"}.redrive`;
  const source = dlqSourceSchema.parse({
    type: "dlq",
    queue: t.dlq,
    category,
    group_id: group,
    schema_registry: kafka?.schema_registry,
    dry_run: dryRun,
  });
  const p = await compile(spec, {
    target,
    stateDir: values.state,
    drain: true,
    readOnly: dryRun,
    replace: {
      source,
      // Its own transactional id: the live runner's producer must not be fenced.
      ...(t.dlq.type === "kafka"
        ? {
          dlq: { ...t.dlq, transactional_id: `ics-dlq-${group}${category ? `.${category}` : ""}` },
        }
        : {}),
    },
    log: (level, message) => level === "info" || console.error(`${level}: ${message}`),
  });
  const report: RedriveReport = {
    target,
    queue: t.dlq.type === "kafka" ? `topic ${t.dlq.topic}` : resolve(p.ctx.stateDir, t.dlq.path),
    dry_run: dryRun,
    categories: {},
    total: zero(),
    failures: [],
  };
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    await p.source.check();
    const tally = outcomes(report);
    if (dryRun) await predict(p, controller.signal, tally);
    else {
      await run(p, controller.signal, {
        written: ({ records, events, dead }) => {
          const recovered = new Set(events.map((e) => e.record));
          const failed = new Map(dead.map((d) => [d.position, d]));
          for (const r of records) {
            const d = failed.get(r.position);
            tally(
              r,
              recovered.has(r)
                ? "recovered"
                : d
                ? { category: d.category, reason: d.reason }
                : "duplicate",
            );
          }
        },
      });
    }
    console.log(values.json ? JSON.stringify(report) : render(report));
    return EXIT.ok;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await p.close();
  }
}

const zero = (): Counts => ({ redriven: 0, recovered: 0, failed: 0, duplicates: 0 });

type Outcome = "recovered" | "duplicate" | { category: DlqCategory; reason: string };

function outcomes(report: RedriveReport) {
  return (record: RawRecord, outcome: Outcome) => {
    const was = record.redrive!.category;
    const counts = report.categories[was] ??= zero();
    for (const c of [counts, report.total]) {
      c.redriven++;
      if (outcome === "recovered") c.recovered++;
      else if (outcome === "duplicate") c.duplicates++;
      else c.failed++;
    }
    if (typeof outcome === "object") {
      report.failures.push({ position: describe(record.position), was, ...outcome });
    }
  };
}

/**
 * `--dry-run`: the pipeline's own decoder, dedup store (read only) and mapper on each pending
 * letter; nothing is written and no batch commits, so no cursor moves.
 */
async function predict(
  p: Pipeline,
  signal: AbortSignal,
  tally: (r: RawRecord, o: Outcome) => void,
) {
  for await (const batch of p.source.batches(signal)) {
    const decoded = [];
    for (const record of batch.records) {
      const d = p.decoder(record);
      if (!d.ok) tally(record, { category: d.category, reason: d.reason });
      else {
        decoded.push({ record, d, ...identify(p.spec.streams.get(d.stream)!, d.event) });
      }
    }
    const seen = decoded.length ? await p.dedup.seen(decoded) : [];
    const events = new Set<string>();
    decoded.forEach(({ record, d, key, digest }, i) => {
      if (seen[i] === "seen" || events.has(`${key}:${digest}`)) return tally(record, "duplicate");
      events.add(`${key}:${digest}`);
      try {
        p.mapper.map(d.stream, d.event);
        tally(record, "recovered");
      } catch (error) {
        if (!(error instanceof MappingError)) throw error;
        tally(record, { category: "mapping_error", reason: error.message });
      }
    });
    await batch.ack();
  }
}

function render(r: RedriveReport): string {
  const head = `ics dlq redrive: target "${r.target}", ${r.queue}`;
  if (r.total.redriven === 0) {
    return `${head}: nothing to redrive${
      r.dry_run ? "" : " (every letter was redriven already, or the queue is empty)"
    }`;
  }
  const would = r.dry_run ? "would " : "";
  const columns = ["letters", `${would}recover`, `${would}fail again`, "duplicates"];
  const cells = (name: string, values: (string | number)[]) =>
    `  ${name.padEnd(18)}${
      values.map((v, i) => String(v).padStart(columns[i].length + 2)).join("")
    }`;
  const row = (name: string, c: Counts) =>
    cells(name, [c.redriven, c.recovered, c.failed, c.duplicates]);
  const lines = [
    `${head}${r.dry_run ? " (dry run: nothing written, no cursor moved)" : ""}`,
    cells("category", columns),
    ...DLQ_CATEGORIES.filter((c) => r.categories[c]).map((c) => row(c, r.categories[c]!)),
    row("total", r.total),
  ];
  if (r.failures.length) {
    lines.push(`${r.dry_run ? "Would fail again" : "Failed again"} (position: new reason):`);
    for (const f of r.failures.slice(0, 50)) {
      const moved = f.category === f.was ? f.category : `${f.was} → ${f.category}`;
      lines.push(`  ${f.position}: ${moved}: ${f.reason}`);
    }
    if (r.failures.length > 50) lines.push(`  … and ${r.failures.length - 50} more (--json)`);
  }
  return lines.join("\n");
}
