/** Test fixtures shared by the correlation tests (not part of the module's surface). */
import type { EntityView } from "./_types.ts";

/**
 * An entity of iteration `it-1` as the engine sees it: id `Label:key` (key "1" by default), seen
 * first and last at `seen` (0 by default).
 */
export function entity(
  label: string,
  props: Record<string, unknown>,
  { key = "1", seen = 0 }: { key?: string; seen?: number } = {},
): EntityView {
  return {
    id: `${label}:${key}`,
    label,
    iteration_id: "it-1",
    key: [key],
    props,
    first_seen: seen,
    last_seen: seen,
  };
}
