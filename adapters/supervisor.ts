// The supervisor script as shipped: its text, and the versioned file it runs from in a home's bin/.
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { makeDirs } from "../core/job_store.ts"
import * as Shell from "../core/shell.ts"
import type { Event } from "../events/mod.ts"
import text from "./supervisor.sh?raw"

/** The script's text. */
export const script: string = text

/** A short hash of the script: a changed script gets a new file, so running supervisors never see theirs change. */
export const version: string = Crypto.createHash("sha256").update(text).digest("hex").slice(0, 12)

/** The script's file name in a home's bin/. */
export const fileName = `supervisor-${version}.sh`

/**
 * The supervisor's `--umask=MASK` argument: the umask the spec recorded (the submitter's), which the command gets
 * right before exec. Empty for a spec of an earlier version: the command then gets the supervisor's starting umask.
 */
export const umaskArg = (spec: Event.JobSpec): string => `--umask=${spec.umask ?? ""}`

/**
 * Writes JOB_DIR/argv, which the supervisor sources when it is given no command (`- --`): its cwd and argv,
 * quoted for sh. Used where the command must not travel as arguments (tmux's command line, batch starts).
 */
export const writeArgv = (dir: string, cwd: string, command: ReadonlyArray<string>): void => {
  Fs.writeFileSync(
    Path.join(dir, "argv"),
    `_jcwd=${Shell.quote(cwd)}\nset -- ${command.map(Shell.quote).join(" ")}\n`,
    {
      mode: 0o600
    }
  )
}

/**
 * Makes sure this version of the script is in `binDir` (0700 folder, 0600 file) and returns its path. Written aside
 * and renamed, so a concurrent install never exposes half a script.
 */
export const install = (binDir: string): string => {
  const path = Path.join(binDir, fileName)
  if (Fs.existsSync(path)) return path
  makeDirs(binDir)
  const tmp = `${path}.${process.pid}.tmp`
  Fs.writeFileSync(tmp, text, { mode: 0o600 })
  Fs.renameSync(tmp, path)
  return path
}
