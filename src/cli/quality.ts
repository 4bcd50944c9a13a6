/** `ics quality`: precision, recall, F1 and calibration of the policy against labelled pairs. */
import { relative, resolve } from "node:path";
import { corpusOf, EVALUATION, EXIT, Exit, load, SPEC } from "./_common.ts";
import { command } from "./_command.ts";
import { number, string } from "./_flags.ts";
import { UserError } from "../core/errors.ts";
import { formatErrors, shortName } from "../yaml/mod.ts";
import { didYouMean } from "../core/did_you_mean.ts";
import {
  evaluate,
  loadLabels,
  measure,
  type QualityConfig,
  qualityMarkdown,
  qualitySchema,
  readJsonl,
} from "../policy/mod.ts";

const gate = (what: string) =>
  number("X", `overall ${what} gate, in place of the spec's`, { min: 0, max: 1 });

export const cli = command({
  name: "quality",
  summary: "precision, recall, F1 and calibration against labelled pairs",
  about:
    `Evaluate the policy over a corpus in memory and score it against labelled pairs: precision,
recall and F1 overall, per rule and per label family; observed precision per confidence band
against the band's confidence (calibration); and what other min_confidence values would give.
Gates come from the spec's "quality:" section; the flags override its overall ones.`,
  flags: {
    labels: string("FILE", "labelled pairs, JSON Lines of the form below", {
      defaultHelp: "rules/tests/labels.jsonl next to the spec",
    }),
    "min-precision": gate("precision"),
    "min-recall": gate("recall"),
    "min-f1": gate("F1"),
    "max-calibration-error": gate("calibration error"),
    ...EVALUATION,
    corpus: {
      ...EVALUATION.corpus,
      defaultHelp: "the spec's quality.corpus, else the file source of its default target",
    },
    ...SPEC,
  },
  more: `Labelled pairs, one per line:
  {"left": {"label": "Artifact", "iteration_id": "it-0001", "key": "src/api/user_service.py"},
   "right": {...}, "match": true}`,
  exits: "0 gates passed, 1 a gate failed or the spec or labels are invalid, 2 bad usage, " +
    "3 runtime failure.",
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  const config = configOf(spec.spec);
  for (const flag of ["min-precision", "min-recall", "min-f1", "max-calibration-error"] as const) {
    const x = values[flag];
    if (x !== undefined) config[flag.replaceAll("-", "_") as "min_precision"] = x;
  }
  const ids = spec.rules.map((r) => r.id);
  for (const id of Object.keys(config.rules)) {
    if (!ids.includes(id)) {
      const hint = didYouMean(id, ids);
      console.error(
        `${relative(Deno.cwd(), spec.file)}: quality.rules.${id}: "${id}" is not a rule of the ` +
          `policy${hint ? ` (did you mean "${hint}"?)` : ""}`,
      );
      throw new Exit(EXIT.invalid);
    }
  }
  const corpus = await corpusOf(spec, values.corpus, config.corpus);
  const labelsFile = resolve(values.labels ?? resolve(spec.dir, config.labels));
  const { labels, errors } = await loadLabels(labelsFile, spec.entities.map((e) => e.label));
  if (errors.length) {
    console.error(formatErrors(errors));
    console.error(`\n${errors.length} error${errors.length === 1 ? "" : "s"} in the labels.`);
    throw new Exit(EXIT.invalid);
  }
  const events = await readJsonl(corpus).catch(() => {
    throw new UserError(`corpus "${corpus}" cannot be read`);
  });
  const evaluation = await evaluate(spec, events, { source: corpus });
  const report = measure(spec, evaluation, labels, config);
  const short = shortName;
  console.log(
    values.format === "json"
      ? JSON.stringify({ labels: short(labelsFile), corpus: short(corpus), ...report }, null, 2)
      : qualityMarkdown(report, { labels: short(labelsFile), corpus: short(corpus) }),
  );
  return report.passed ? EXIT.ok : EXIT.invalid;
}

/** The spec's `quality:` section once the schema has it; the defaults until then. */
function configOf(spec: object): QualityConfig {
  const section = (spec as { quality?: unknown }).quality;
  const parsed = qualitySchema.safeParse(section ?? {});
  if (!parsed.success) throw new UserError(`the spec's quality section is invalid`);
  return structuredClone(parsed.data);
}
