/** What every resolver of a request gets. */
import type { GraphStore } from "../core/component.ts";
import type { Engine } from "../correlation/mod.ts";
import type { CompiledSpec } from "../compiler/types.ts";
import type { DeadLetterSource } from "./_dead_letters.ts";
import type { Loaders } from "./_loaders.ts";
import type { ApiModel } from "./_model.ts";
import type { TimePoint } from "../core/component.ts";

export interface ApiContext {
  store: GraphStore;
  spec: CompiledSpec;
  model: ApiModel;
  engine: Engine;
  deadLetters: DeadLetterSource;
  /** The largest `first` a list takes. */
  maxPage: number;
  /** This request's loaders at a time point. */
  loaders: (at: TimePoint) => Loaders;
}
