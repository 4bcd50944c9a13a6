/**
 * Loading one rule file. A rule glob may match a file that is no rule file at all (a `.env`, a
 * key, another tool's config), and `validate` output ends up in CI logs: such a file gets one
 * error naming the file and the problem, never a value from it.
 * @module
 */
import {
  fromInterpolation,
  type LoadedYaml,
  loadYaml,
  readConfigFile,
  shortName,
  type SpecError,
  validate,
} from "../yaml/mod.ts";
import { didYouMean } from "../core/did_you_mean.ts";
import { ruleFileSchema, type RuleSpec } from "./_schema.ts";

const KEYS = ["rules", "$schema"];
const NOT_A_RULE_FILE = 'not a rule file: a rule file is a mapping of "rules" (and "$schema")';

/** A rule file, parsed and validated against the rule file schema. */
export async function loadRuleFile(
  path: string,
  env: (name: string) => string | undefined,
): Promise<{ loaded: LoadedYaml; value?: { rules: RuleSpec[] }; errors: SpecError[] }> {
  const file = shortName(path);
  const text = await readConfigFile(path, file);
  if (typeof text !== "string") return { loaded: loadYaml(file, "", env), errors: [text] };
  const loaded = loadYaml(file, text, env);
  // A file that did not parse may be a rule file with a typo or no rule file at all: its syntax
  // errors are reported (they describe syntax, not values), not the ${...} it holds.
  if (loaded.value === undefined && loaded.errors.length) {
    return { loaded, errors: loaded.errors.filter((e) => !fromInterpolation(e)) };
  }
  const foreign = foreignKey(loaded.value);
  if (foreign !== undefined) {
    const at = foreign === "" ? loaded.locate([]) : loaded.locateKey([foreign]);
    return { loaded, errors: [{ file, ...at, path: "", message: NOT_A_RULE_FILE }] };
  }
  const checked = validate(ruleFileSchema, loaded);
  return { loaded, value: checked.value, errors: checked.errors };
}

/**
 * Why `value` does not look like a rule file: "" when it is no mapping, else its first key that
 * is neither a rule file's key nor a misspelling of one; undefined when it looks like one.
 */
function foreignKey(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "";
  return Object.keys(value).find((k) => !KEYS.includes(k) && !didYouMean(k, KEYS));
}
