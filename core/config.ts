// User settings in $JOBS_HOME/config.yaml. Only flat `key: value` lines are read (a value may be quoted). A value
// that does not parse is refused, never read as "nothing" (a `keep:` read as nothing would let `clean` delete every
// ended job); an unknown key is warned about.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as RegularFile from "../events/regular_file.ts"
import * as Duration from "./duration.ts"
import { InvalidInput } from "./errors.ts"
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

/** The keys this version knows. */
export const KEYS = ["on_done", "keep", "max_log_size", "done_screen"] as const

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

/** The settings in a config file's text, with the unknown keys; or why a value does not parse. */
export const parse = (
  text: string
): { readonly config: Config; readonly unknown: ReadonlyArray<string> } | { readonly error: string } => {
  const values = new Map<string, string>()
  const unknown: Array<string> = []
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue
    const m = /^([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+(.*)|)$/.exec(line)
    if (m === null) {
      // an indented line belongs to a key of a later version; anything else is not `key: value`
      if (/^\s/.test(line)) continue
      return { error: `the line "${line.slice(0, 60)}" is not "key: value"` }
    }
    const key = m[1]!
    if ((KEYS as ReadonlyArray<string>).includes(key)) {
      if (!values.has(key)) values.set(key, scalar(m[2] ?? ""))
    } else if (!unknown.includes(key)) unknown.push(key)
  }
  const keep = values.get("keep")
  const keepSecs = keep === undefined || keep === "" ? null : Duration.parseSeconds(keep)
  if (keepSecs === undefined) return { error: `keep "${keep}" is not a duration (use 30d, 12h, 90m or 3600)` }
  const maxLog = values.get("max_log_size")
  const maxLogBytes = maxLog === undefined || maxLog === "" ? null : Duration.parseBytes(maxLog)
  if (maxLogBytes === undefined || (maxLogBytes !== null && maxLogBytes < 1)) {
    return { error: `max_log_size "${maxLog}" is not a size (use 512K, 100M or 2G)` }
  }
  const doneScreen = values.get("done_screen")
  const doneScreenSecs =
    doneScreen === undefined || doneScreen === "" ? DEFAULT_DONE_SCREEN_SECS : Duration.parseSeconds(doneScreen)
  if (doneScreenSecs === undefined) {
    return { error: `done_screen "${doneScreen}" is not a duration (use 10m, 90s or 600)` }
  }
  const onDone = values.get("on_done")
  return {
    config: { onDone: onDone === undefined || onDone === "" ? null : onDone, keepSecs, maxLogBytes, doneScreenSecs },
    unknown
  }
}

/**
 * The home's settings (defaults when there is no file). Fails with one line naming the file, the key and the forms
 * it accepts when a value does not parse; warns of each unknown key.
 */
export const load = (layout: Home.Layout): Effect.Effect<Config, InvalidInput> =>
  Effect.gen(function* () {
    const file = Path.join(layout.home, "config.yaml")
    let text = ""
    try {
      text = Fs.readFileSync(file, "utf8")
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        return yield* new InvalidInput({ message: `Cannot read config "${file}": ${RegularFile.reasonOf(e)}` })
      }
    }
    const parsed = parse(text)
    if ("error" in parsed) return yield* new InvalidInput({ message: `Cannot read config "${file}": ${parsed.error}` })
    for (const key of parsed.unknown) {
      yield* Effect.logWarning(`${file}: unknown key "${key}" ignored (this version knows ${KEYS.join(", ")})`)
    }
    return parsed.config
  })

/**
 * The home's settings for a step after submit, which has already refused a config that does not parse: a file
 * changed meanwhile into one that does not parse gives the defaults here.
 */
export const current = (layout: Home.Layout): Config => {
  let text = ""
  try {
    text = Fs.readFileSync(Path.join(layout.home, "config.yaml"), "utf8")
  } catch {
    // no file: defaults
  }
  const parsed = parse(text)
  return "error" in parsed ? (parse("") as { readonly config: Config }).config : parsed.config
}
