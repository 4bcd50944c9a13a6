/** Sources: where raw records come from. */
import { file } from "./file.ts";
import { kafka } from "./kafka.ts";
import { dlq } from "./dlq.ts";

/** `dlq` reads dead letters back for `ics dlq redrive`; targets configure `file` or `kafka`. */
export const sources = { file, kafka, dlq } as const;
export type SourceType = keyof typeof sources;
