// Project detection: the git root of a directory, else the directory itself.
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * The nearest ancestor (or the directory itself) holding `.git`, else the directory. Reads the disk, spawns nothing.
 *
 * @example
 * Project.detect("/src/app/lib") // "/src/app" when /src/app/.git exists
 */
export const detect = (cwd: string): string => {
  let dir = Path.resolve(cwd)
  for (;;) {
    if (Fs.existsSync(Path.join(dir, ".git"))) return dir
    const parent = Path.dirname(dir)
    if (parent === dir) return Path.resolve(cwd)
    dir = parent
  }
}
