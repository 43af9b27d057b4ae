// User settings in $JOBS_HOME/config.yaml. Only flat `key: value` lines are read (a value may be quoted); unknown
// keys are left for later versions.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Duration from "./duration.ts"
import type * as Home from "./home.ts"

/** The settings this version reads. */
export interface Config {
  /** A shell command run when any job ends (with JOBS_ID, JOBS_STATUS, JOBS_EXIT_CODE, JOBS_NAME). */
  readonly onDone: string | null
  /** How long `jobs clean` keeps ended jobs when not told (`keep: 30d`); null keeps nothing back. */
  readonly keepSecs: number | null
  /** The default --max-log-size (`max_log_size: 100M`); null for none. */
  readonly maxLogBytes: number | null
  /** How long a tmux job's done screen stays when nobody is attached (`done_screen: 10m`). */
  readonly doneScreenSecs: number
}

/** The done screen's time when config.yaml says nothing. */
export const DEFAULT_DONE_SCREEN_SECS = 300

const scalar = (raw: string): string => {
  const v = raw.trim()
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string
    } catch {
      return v.slice(1, -1)
    }
  }
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replaceAll("''", "'")
  return v
}

/** The home's settings (defaults when there is no file). */
export const read = (layout: Home.Layout): Config => {
  let text = ""
  try {
    text = Fs.readFileSync(Path.join(layout.home, "config.yaml"), "utf8")
  } catch {
    // no file: defaults
  }
  const onDone = /^on_done:[ \t]*(.*)$/m.exec(text)?.[1]
  const keep = /^keep:[ \t]*(.*)$/m.exec(text)?.[1]
  const maxLog = /^max_log_size:[ \t]*(.*)$/m.exec(text)?.[1]
  const doneScreen = /^done_screen:[ \t]*(.*)$/m.exec(text)?.[1]
  return {
    onDone: onDone === undefined || scalar(onDone) === "" ? null : scalar(onDone),
    keepSecs: keep === undefined ? null : (Duration.parseSeconds(scalar(keep)) ?? null),
    maxLogBytes: maxLog === undefined ? null : (Duration.parseBytes(scalar(maxLog)) ?? null),
    doneScreenSecs:
      (doneScreen === undefined ? undefined : Duration.parseSeconds(scalar(doneScreen))) ?? DEFAULT_DONE_SCREEN_SECS
  }
}
