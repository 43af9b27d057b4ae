// Making folders: apart from job_store.ts so that small readers of the home (shell completion) do not load Effect.
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * Creates a directory and its missing parents, 0700. Not `mkdirSync({ recursive: true })`: under /proc the kernel
 * answers ENOENT for a parent that exists, and Node's recursive mkdir then loops forever.
 */
export const makeDirs = (dir: string): void => {
  const missing: Array<string> = []
  for (let d = Path.resolve(dir); !Fs.existsSync(d); d = Path.dirname(d)) {
    missing.push(d)
    if (Path.dirname(d) === d) break
  }
  for (const d of missing.reverse()) {
    try {
      Fs.mkdirSync(d, { mode: 0o700 })
    } catch (e) {
      // another process made it in the meantime (50 `jobs run` on a new home at once): fine if it is a folder
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !Fs.statSync(d).isDirectory()) throw e
    }
  }
}
