/**
 * The event contract's evolution rule (EVENTS.md): new fields optional with defaults, no removal
 * or rename of a required field. In the registry's terms that is FULL_TRANSITIVE: a new schema
 * reads data written with every registered version (backward: a field it adds has a default),
 * and every registered version reads data written with it (forward: a field it drops or renames
 * had a default). BACKWARD alone lets a required field be removed, which consumers on the old
 * schema (and the dead letters, and replays) cannot read.
 *
 * Checked here with avsc's schema resolution, whatever compatibility a subject is configured
 * with (subjects registered before ics set FULL_TRANSITIVE may still say BACKWARD).
 * @module
 */
import avro from "avsc";

/** The compatibility `ics produce` and `ics schemas register` set on a subject. */
export const CONTRACT_COMPATIBILITY = "FULL_TRANSITIVE" as const;

/** Why `candidate` breaks the rule against the registered versions; undefined when it keeps it. */
export function evolutionProblem(
  candidate: string,
  registered: { version: number; schema: string }[],
): string | undefined {
  const next = avro.Type.forSchema(JSON.parse(candidate));
  for (const r of registered) {
    const previous = avro.Type.forSchema(JSON.parse(r.schema));
    try {
      next.createResolver(previous);
    } catch (error) {
      return `it cannot read events written with version ${r.version} (a new field needs a ` +
        `default): ${(error as Error).message}`;
    }
    try {
      previous.createResolver(next);
    } catch (error) {
      return `readers on version ${r.version} cannot read events written with it (a required ` +
        `field removed or renamed): ${(error as Error).message}`;
    }
  }
  return undefined;
}
