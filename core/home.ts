// Where a home's files live (DESIGN §3). Pure path arithmetic; nothing here touches the disk.
import * as Os from "node:os"
import * as Path from "node:path"

/** The home directory: `--home`, else `JOBS_HOME`, else `~/.jobs`. */
export const resolve = (flag: string | undefined, env: Record<string, string | undefined> = process.env): string =>
  Path.resolve(
    flag ?? (env.JOBS_HOME !== undefined && env.JOBS_HOME !== "" ? env.JOBS_HOME : Path.join(Os.homedir(), ".jobs"))
  )

/** The files of one home. */
export interface Layout {
  readonly home: string
  readonly jobs: string
  readonly keys: string
  readonly cache: string
  readonly bin: string
}

export const layout = (home: string): Layout => ({
  home,
  jobs: Path.join(home, "jobs"),
  keys: Path.join(home, "keys"),
  cache: Path.join(home, "cache"),
  bin: Path.join(home, "bin")
})

/** The files of one job. */
export interface JobPaths {
  readonly dir: string
  readonly eventsPath: string
  readonly logPath: string
  readonly envPath: string
  /** The stop request the supervisor reads when it is signalled: "SIGNAL GRACE_SECS". */
  readonly stopPath: string
}

export const jobPaths = (layout: Layout, id: string): JobPaths => {
  const dir = Path.join(layout.jobs, id)
  return {
    dir,
    eventsPath: Path.join(dir, "events.jsonl"),
    logPath: Path.join(dir, "output.log"),
    envPath: Path.join(dir, "env"),
    stopPath: Path.join(dir, "stop")
  }
}
