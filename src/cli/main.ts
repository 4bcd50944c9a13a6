/**
 * The `ics` command line. The only place that prints; user errors are one line, never a stack.
 * @module
 */
import { UserError } from "../core/errors.ts";
import { redact, redactError } from "../core/secrets.ts";
import { EXIT, Exit } from "./_common.ts";
import * as run from "./run.ts";
import * as validate from "./validate.ts";
import * as links from "./links.ts";
import * as explain from "./explain.ts";
import * as query from "./query.ts";
import * as schema from "./schema.ts";
import * as recorrelate from "./recorrelate.ts";
import * as produce from "./produce.ts";
import * as topics from "./topics.ts";
import * as schemas from "./schemas.ts";
import * as test from "./test.ts";
import * as plan from "./plan.ts";
import * as quality from "./quality.ts";
import * as checksum from "./checksum.ts";
import * as replay from "./replay.ts";
import * as dlq from "./dlq.ts";

const commands = {
  run,
  validate,
  links,
  explain,
  query,
  recorrelate,
  test,
  plan,
  quality,
  checksum,
  replay,
  dlq,
  produce,
  topics,
  schemas,
  schema,
} as const;

const HELP = `ics: a declarative runner for trimodal event pipelines

Usage: ics <command> [flags]      (deno task ics <command> ...)

Commands:
  run        run the pipeline on a target (default: the embedded local target)
  validate   check pipeline.yaml and its rule files, reporting every error at once
  links      export correlation links as JSON Lines
  explain    why two entities are linked, or why not
  query      entities and links of an iteration, with time travel (--as-of, --known-at)
  recorrelate  apply the current correlation policy to the stored graph
  test       run the correlation rule tests (rules/tests/*.yaml)
  plan       what a policy change does to the links of recorded events (--base REF)
  quality    precision, recall, F1 and calibration against labelled pairs
  checksum   a canonical hash of the stored graph (compare stores, runs, replays)
  replay     rebuild the graph and metrics from the input log into empty stores (--from)
  dlq        dead letters: "dlq redrive" re-injects them after a fix and reports the outcome
  produce    publish JSONL events to the stream topics as Avro (registering the schemas)
  topics     create the stream and dead-letter topics
  schemas    check local Avro schemas against the registry (FULL_TRANSITIVE compatibility)
  schema     write the JSON Schemas for editors

"ics <command> --help" tells more. Exit codes: 0 ok, 1 invalid spec or check failed,
2 bad usage, 3 runtime failure.`;

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = commands[name as keyof typeof commands];
  if (!command) {
    console.error(`ics: unknown command "${name}"; commands: ${Object.keys(commands).join(", ")}`);
    return EXIT.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return EXIT.ok;
  }
  try {
    return await command.main(rest);
  } catch (error) {
    if (error instanceof Exit) return error.code;
    if (error instanceof UserError) {
      console.error(`ics ${name}: ${redact(error.message)}`);
      return EXIT.usage;
    }
    if (
      error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      // node's parseArgs messages carry advice for node scripts; keep only the first sentence.
      console.error(
        `ics ${name}: ${redact(error.message.split(". ")[0])} (see ics ${name} --help)`,
      );
      return EXIT.usage;
    }
    const message = redactError(error);
    const permission = /Requires (\w+) access(?: to ("[^"]*"))?/.exec(message);
    if (permission) {
      // A Deno permission the command was not started with (possibly wrapped by a client library).
      const [, kind, what] = permission;
      console.error(
        `ics ${name}: not permitted: ${kind} access${what ? ` to ${what}` : ""} needs Deno's ` +
          `--allow-${kind}${kind === "write" ? " (deno task run may write only to .ics)" : ""}`,
      );
      return EXIT.usage;
    }
    console.error(`ics ${name}: failed: ${message}`);
    if (Deno.env.get("ICS_DEBUG")) console.error(redact(Deno.inspect(error)));
    return EXIT.failure;
  }
}

if (import.meta.main) {
  // A failure outside the command's own promise (a client library's background task) is still
  // one redacted line, not a stack trace that may quote a connection URL.
  const fatal = (event: Event, reason: unknown) => {
    event.preventDefault();
    console.error(`ics: failed: ${redactError(reason)}`);
    Deno.exit(EXIT.failure);
  };
  globalThis.addEventListener("unhandledrejection", (e) => fatal(e, e.reason));
  globalThis.addEventListener("error", (e) => fatal(e, e.error));
  Deno.exit(await main(Deno.args));
}
