/** `ics plan --base REF`: what a policy change does to the links of recorded events. */
import { shortName } from "../yaml/mod.ts";
import { corpusOf, EVALUATION, EXIT, Exit, load, SPEC } from "./_common.ts";
import { command } from "./_command.ts";
import { number, someOf, string } from "./_flags.ts";
import { formatErrors, loadSpec } from "../compiler/mod.ts";
import { failsOn, openBase, plan, planMarkdown } from "../policy/mod.ts";

export const cli = command({
  name: "plan",
  summary: "what a policy change does to the links of recorded events (--base REF)",
  about:
    `Run the base policy and the working policy over the same recorded events and report the links
added, removed and rescored (old and new confidence, the rules responsible, and why the other
policy does not link the pair), grouped by rule and by iteration, with examples. The Markdown is
ready for a pull request comment. The working policy is the one of --spec; the base policy of a
git revision is read from git (its spec, rule files and Avro schemas).`,
  flags: {
    base: string("REF", "the policy to compare with", {
      required: true,
      accepts: "a git revision (main, HEAD~1, a sha), a folder holding the spec, or a spec file",
    }),
    "fail-on": someOf(
      ["removed", "rescored", "added", "any"],
      "KINDS",
      "exit 1 when the plan has changes of these kinds",
    ),
    examples: number("N", "examples per rule in the Markdown", {
      min: 0,
      integer: true,
      default: 3,
    }),
    ...EVALUATION,
    ...SPEC,
  },
  exits: "0 done (no --fail-on change), 1 a --fail-on change or an invalid spec, 2 bad usage, " +
    "3 runtime failure.",
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const working = await load(values.spec);
  const corpus = await corpusOf(working, values.corpus);
  const base = await openBase(values.base, values.spec ?? "pipeline.yaml");
  try {
    const loaded = await loadSpec(base.specFile);
    if (!loaded.spec) {
      const errors = loaded.errors.map((e) => ({ ...e, file: base.display(e.file) }));
      console.error(formatErrors(errors));
      console.error(`\nThe base policy (${base.label}) is invalid: ${errors.length} errors.`);
      throw new Exit(EXIT.invalid);
    }
    const report = await plan({
      base: { spec: loaded.spec, label: base.label },
      working: { spec: working, label: "working tree" },
      corpus,
    });
    report.corpus.path = shortName(corpus);
    console.log(
      values.format === "json"
        ? JSON.stringify(report, null, 2)
        : planMarkdown(report, values.examples),
    );
    return failsOn(report, values["fail-on"] ?? []) ? EXIT.invalid : EXIT.ok;
  } finally {
    await base.cleanup();
  }
}
