/** Sources: where raw records come from. */
import { file } from "./file.ts";

export const sources = { file } as const;
export type SourceType = keyof typeof sources;
