/**
 * Positioned YAML: config files parsed with their source positions and `${VAR}` interpolation,
 * validated against any zod schema, every problem reported at once as
 * `file:line:column  yaml.path  message`. The spec compiler (`src/compiler`) and the policy files
 * (`src/policy`: rule tests, labelled pairs) both read their YAML through this module.
 * @module
 */
export { fromInterpolation, type LoadedYaml, loadYaml, type SpecError } from "./_parse.ts";
export { formatErrors, validate, yamlPath } from "./_validate.ts";
export {
  MAX_FILE_BYTES,
  NotAFile,
  readConfigFile,
  readRegular,
  shortName,
  sizeText,
  TooLarge,
} from "./_read.ts";
