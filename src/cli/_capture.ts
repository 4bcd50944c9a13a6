/**
 * Test helper: run a command's `main()` in process, as `src/cli/main.ts` would (user errors exit
 * 2, `Exit` its code), capturing what it prints.
 * @module
 */
import { UserError } from "../core/errors.ts";
import { Exit } from "./_common.ts";

export async function capture(
  command: { main(args: string[]): Promise<number> },
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...x: unknown[]) => out.push(x.join(" "));
  console.error = (...x: unknown[]) => err.push(x.join(" "));
  let code: number;
  try {
    code = await command.main(args);
  } catch (e) {
    if (e instanceof Exit) code = e.code;
    else if (e instanceof UserError) err.push(e.message), code = 2;
    else throw e;
  } finally {
    console.log = log;
    console.error = error;
  }
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}
