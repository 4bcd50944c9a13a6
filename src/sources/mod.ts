/** Sources: where raw records come from. */
import { file } from "./file.ts";
import { kafka } from "./kafka.ts";

export const sources = { file, kafka } as const;
export type SourceType = keyof typeof sources;
