/** Sources: where raw records come from. */
import { file } from "./file.ts";
import { kafka } from "./kafka.ts";
import { dlq } from "./dlq.ts";

/** The sources a target configures (its `source.type`). */
export const targetSources = { file, kafka } as const;
/** With `dlq`, which reads dead letters back for `ics dlq redrive`. */
export const sources = { ...targetSources, dlq } as const;
export type SourceType = keyof typeof sources;
