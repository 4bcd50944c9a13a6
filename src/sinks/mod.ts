/**
 * Sinks by role. Each registry maps a target's `type:` to its component.
 * @module
 */
import { sqlite as sqliteGraph } from "./sqlite_graph.ts";
import { sqlite as sqliteMetrics } from "./sqlite_metrics.ts";
import { file as fileDlq } from "./file_dlq.ts";
import { kafka as kafkaDlq } from "./kafka_dlq.ts";
import { postgres as postgresMetrics } from "./postgres_metrics.ts";
import { neo4jGraph } from "./neo4j_graph/mod.ts";

export const graphStores = { sqlite: sqliteGraph, neo4j: neo4jGraph } as const;
export const metricsStores = { sqlite: sqliteMetrics, postgres: postgresMetrics } as const;
export const deadLetterQueues = { file: fileDlq, kafka: kafkaDlq } as const;
