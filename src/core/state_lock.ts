/**
 * One writer per state folder. Two runners on one state folder (two terminals, or a `deno task`
 * wrapper killed while its runner goes on) would each read the same input and write it twice:
 * both exit 0 with a doubled graph. So a command that writes the state takes an exclusive lock on
 * `<state>/lock` first, and a second one is refused at once, naming the folder and the holder.
 *
 * The lock is the operating system's (`flock`, through `Deno.FsFile.tryLock`): it belongs to the
 * open file, so it ends with the process however the process ends, SIGKILL included; a stale file
 * blocks nothing. The holder writes its pid into the file for the refusal message; the file is
 * never deleted (deleting it would let a third process lock a new file while the second still
 * holds the old one).
 * @module
 */
import { join } from "node:path";
import { UserError } from "./errors.ts";

export const LOCK_FILE = "lock";

export interface StateLock {
  /** The lock file. */
  readonly path: string;
  /** Give the folder up (idempotent); the process ending does it too. */
  close(): Promise<void>;
}

/** Take the state folder's lock, or throw a UserError naming the folder and the holder's pid. */
export async function lockState(dir: string): Promise<StateLock> {
  const path = join(dir, LOCK_FILE);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (error) {
    file.close();
    throw error;
  }
  if (!locked) {
    file.close();
    const pid = await holder(path);
    throw new UserError(
      `state folder "${dir}" is in use by another ics process${
        pid ? ` (pid ${pid})` : ""
      }: one state folder takes one runner at a time; wait for it to end, or give this one its own --state`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let open = true;
  return {
    path,
    close() {
      if (open) {
        open = false;
        file.close(); // closing the file releases the lock
      }
      return Promise.resolve();
    },
  };
}

/** The pid the holder wrote, when it did. */
async function holder(path: string): Promise<number | undefined> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
