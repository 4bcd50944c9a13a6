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
import * as serve from "./serve.ts";

/** Every command, in the order `ics --help` lists them. */
export const commands = {
  run,
  validate,
  links,
  explain,
  query,
  serve,
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

/** `ics --help`: the commands with their summaries, from their declarations. */
function help(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length)) + 2;
  return `ics: a declarative runner for trimodal event pipelines

Usage: ics <command> [flags]      (deno task ics <command> ...)

Commands:
${Object.values(commands).map(({ cli }) => `  ${cli.name.padEnd(width)}${cli.summary}`).join("\n")}

"ics <command> --help" tells more. Exit codes: 0 ok, 1 invalid spec or check failed,
2 bad usage, 3 runtime failure.`;
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = commands[name as keyof typeof commands];
  if (!command) {
    console.error(`ics: unknown command "${name}"; commands: ${Object.keys(commands).join(", ")}`);
    return EXIT.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.cli.help);
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
