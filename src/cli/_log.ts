/**
 * The log of `ics run`, through LogTape (zero dependencies, made for Deno; pino would need
 * `--allow-sys=hostname` in every invocation, since it reads the host name when imported).
 *
 * - stderr not a terminal (a pipe, a file, a container's log): JSON Lines, one object per line:
 *   `{"time":"2025-01-06T09:00:00.000Z","level":"warn","component":"graph","message":"…"}`, plus
 *   `iteration_id` and `event_id` when the line is about one event.
 * - stderr a terminal: human text (`09:00:00.000 WRN graph: …`), colored unless `NO_COLOR` is set;
 *   the live status line (`_status.ts`) is cleared before each line.
 *
 * Process warnings of client libraries become log lines too (`processWarnings`). Every message
 * and field value passes `redact()`: a service's error may quote a URL with a
 * password. Lines are written synchronously, so none is lost when the process exits right after.
 * @module
 */
import {
  configureSync,
  type FormattedValues,
  getAnsiColorFormatter,
  getLogger,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  resetSync,
  type TextFormatter,
} from "@logtape/logtape";
import process from "node:process";
import type { Context, LogFields } from "../core/component.ts";
import { redact } from "../core/secrets.ts";

export interface LogOptions {
  /** Only warnings and errors. */
  quiet?: boolean;
  /** JSON Lines (default: when stderr is not a terminal). */
  json?: boolean;
  /** Called before each line (erases the status line). */
  before?: () => void;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
  /**
   * Log the process warnings of client libraries (Node's `process.emitWarning`) instead of letting
   * them print in Node's own form, which would break the JSON stream. Process-wide: `ics run` only.
   */
  processWarnings?: boolean;
}

/**
 * Warnings known to be harmless. kafkajs schedules a timer with a negative delay at its first
 * connection (kafkajs#1751; Node clamps it to 1 ms): see src/kafka/mod.ts.
 */
const HARMLESS = new Set(["TimeoutNegativeWarning"]);

/** Our level names, and LogTape's. */
const LEVELS = { info: "info", warn: "warning", error: "error" } as const;
const NAMES: Partial<Record<LogLevel, string>> = {
  info: "info",
  warning: "warn",
  error: "error",
  fatal: "fatal",
  debug: "debug",
  trace: "trace",
};

/** The component a line is about: the category under `ics`, else the runner itself. */
const component = (category: readonly string[]) => category.slice(1).join(".") || "runtime";

/** One JSON object per line: time, level, component, the line's fields, message. */
export const jsonLine: TextFormatter = (record: LogRecord) =>
  JSON.stringify({
    time: new Date(record.timestamp).toISOString(),
    level: NAMES[record.level] ?? record.level,
    component: component(record.category),
    ...record.properties,
    message: record.message.join(""),
  }) + "\n";

/** Human text for a terminal: time, level, component, message, then the fields. */
function humanLine(color: boolean): TextFormatter {
  const options = {
    timestamp: "time" as const,
    category: (c: readonly string[]) => component(c),
    format: (v: FormattedValues) => `${v.timestamp} ${v.level} ${v.category}: ${v.message}`,
  };
  const text = color ? getAnsiColorFormatter(options) : getTextFormatter(options);
  return (record) => {
    const fields = Object.entries(record.properties).map(([k, v]) => ` ${k}=${v}`).join("");
    return text(record).replace(/\n$/, "") + fields + "\n";
  };
}

/**
 * Configure the log and return the runtime's log function (`Context["log"]`). Call once per
 * process; `close()` resets LogTape.
 */
export function createLog(options: LogOptions = {}): Context["log"] & { close(): void } {
  const json = options.json ?? !Deno.stderr.isTerminal();
  const format = json ? jsonLine : humanLine(!Deno.noColor);
  const encoder = new TextEncoder();
  const write = options.write ??
    ((line: string) => {
      const bytes = encoder.encode(line);
      for (let n = 0; n < bytes.length;) n += Deno.stderr.writeSync(bytes.subarray(n));
    });
  configureSync({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        options.before?.();
        write(format(record));
      },
    },
    loggers: [
      { category: ["ics"], lowestLevel: options.quiet ? "warning" : "info", sinks: ["stderr"] },
      // LogTape's own warnings (a sink failing) go to the same place.
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  const root = getLogger(["ics"]);
  const warned = (w: Error) => {
    if (!HARMLESS.has(w.name)) log("warn", `${w.name}: ${w.message}`);
  };
  let restore = () => {};
  if (options.processWarnings) {
    const previous = process.listeners("warning");
    process.removeAllListeners("warning");
    process.on("warning", warned);
    restore = () => {
      process.off("warning", warned);
      for (const l of previous) process.on("warning", l);
    };
  }
  const log = (level: "info" | "warn" | "error", message: string, fields: LogFields = {}) => {
    const { component, ...rest } = fields;
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) properties[k] = redact(v);
    const text = redact(message);
    // emit(): the message is text, not a template (braces in an error message stay braces).
    (component ? root.getChild(component) : root).emit({
      level: LEVELS[level],
      timestamp: Date.now(),
      message: [text],
      rawMessage: text,
      properties,
    });
  };
  return Object.assign(log, {
    close: () => {
      restore();
      resetSync();
    },
  });
}
