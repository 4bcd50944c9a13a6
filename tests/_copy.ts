/** Copy named files and folders from one directory to another (test fixtures). */
import { join } from "node:path";

export async function copy(from: string, to: string, names: string[]): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for (const name of names) {
    const info = await Deno.stat(join(from, name));
    if (info.isDirectory) {
      const entries = [];
      for await (const e of Deno.readDir(join(from, name))) entries.push(e.name);
      await copy(join(from, name), join(to, name), entries);
    } else {
      await Deno.copyFile(join(from, name), join(to, name));
    }
  }
}
