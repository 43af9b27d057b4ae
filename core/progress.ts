// Progress and ETA from what a job already writes: tqdm bars and `--progress-pattern` matches in the tail of its
// output, and lines a program appends to the file named by JOBS_PROGRESS. It is read when someone looks (list,
// status, wait, logs -f); nothing runs while the job does, and only the tail of a file is ever read.

import { type Event, RegularFile } from "../events/mod.ts"
import { untrustedText } from "./errors.ts"
import type * as JobState from "./job_state.ts"
import * as OutputLog from "./output_log.ts"

/** What one source says. */
export interface Found {
  readonly done: number
  readonly total: number | null
  readonly message: string | null
  /** tqdm, pattern or file. */
  readonly source: string
  /** tqdm says these itself. */
  readonly rate?: number | null
  readonly etaSecs?: number | null
}

/** How much of the end of a file is read: a tqdm line is ~100 bytes, redrawn with `\r` in place. */
export const TAIL_BYTES = 16 * 1024

/** The last `bytes` bytes of a regular file as text ("" when it is missing, not a regular file, or unreadable). */
export const readTail = (path: string, bytes = TAIL_BYTES): string => {
  try {
    return RegularFile.readTailSync(path, bytes)?.toString("utf8") ?? ""
  } catch {
    return ""
  }
}

const SCALE: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }

const amount = (text: string): number => {
  const m = /^([\d.]+)([kMGT]?)$/.exec(text)
  return m === null ? Number.NaN : Number(m[1]) * SCALE[m[2]!]!
}

/** "12", "01:12" or "1:02:03" in seconds; NaN for "?". */
const clock = (text: string): number =>
  text.split(":").reduce((secs, part) => secs * 60 + Number(part), 0) / (/^[\d:]+$/.test(text) ? 1 : Number.NaN)

// `desc: 45%|████▌     | 45/100 [00:10<00:12, 4.50it/s]` (also `2.10s/it`, `?it/s`, `1.2k/10k`), matched from the
// percent on (sticky) at each `%|` found from the end: every part is followed by a character its class excludes, so
// one attempt reads each character once, and the description is found by looking back from the percent. A single
// pattern searched over the text would try the description from every position: quadratic in a long line.
const TQDM =
  /(\d{1,3})%\|[^|\r\n]*\|\s*([\d.]+[kMGT]?)\/([\d.]+[kMGT]?)\s*\[[\d:]+<([\d:]+|\?)(?:,\s*([\d.]+|\?)\s*([^\s\]/]+)\/([^\s\],]+))?/y

/** How many `%|` the tqdm detector tries, from the end, before it gives up (a bound on its work, whatever the text). */
const TQDM_ATTEMPTS = 256

const isDigit = (code: number) => code >= 48 && code <= 57

/** The description before a bar: what follows the last `\r`, `\n` or `|` up to the `:` just before the percent. */
const descriptionBefore = (text: string, percentAt: number): string | undefined => {
  let i = percentAt - 1
  while (i >= 0 && /\s/.test(text[i]!)) i--
  if (i < 0 || text[i] !== ":") return undefined
  const colon = i
  for (i--; i >= 0; i--) {
    const c = text[i]
    if (c === "\r" || c === "\n" || c === "|") break
  }
  return text.slice(i + 1, colon)
}

/** The last tqdm bar in a text (tqdm redraws with `\r`, so the last match is the current state). Linear in the text. */
export const fromTqdm = (text: string): Found | undefined => {
  let at = text.length
  for (let attempt = 0; attempt < TQDM_ATTEMPTS; attempt++) {
    const bar = text.lastIndexOf("%|", at - 1)
    if (bar < 0) return undefined
    at = bar
    let start = bar
    while (start > 0 && bar - start < 3 && isDigit(text.charCodeAt(start - 1))) start--
    if (start === bar) continue
    TQDM.lastIndex = start
    const m = TQDM.exec(text)
    if (m === null) continue
    const done = amount(m[2]!)
    if (!Number.isFinite(done)) continue
    const total = amount(m[3]!)
    const value = m[5] === undefined || m[5] === "?" ? Number.NaN : Number(m[5])
    // "4.50it/s" is a rate; "2.10s/it" is its inverse
    const rate = m[6] === "s" ? 1 / value : value
    const eta = clock(m[4]!)
    const desc = descriptionBefore(text, start)?.trim()
    return {
      done,
      total: Number.isFinite(total) ? total : null,
      message: desc === undefined || desc === "" ? null : desc,
      source: "tqdm",
      rate: Number.isFinite(rate) ? rate : null,
      etaSecs: Number.isFinite(eta) ? eta : null
    }
  }
  return undefined
}

/**
 * What a user's pattern is shown: the last lines (split at `\r` and `\n`) of at most this many characters in all,
 * each cut to its last `PATTERN_LINE_CHARS`. A user's regex may take time polynomial in what it sees (`.*?(\d+)`
 * is cubic on a line of digits), so what it sees is bounded, not the output's last line, which may be 10 MB.
 */
export const PATTERN_CHARS = 4096
export const PATTERN_LINE_CHARS = 256

/** The last match of a user's pattern (named groups `done`, `total`, `message`) in a text. */
export const fromPattern = (text: string, pattern: string): Found | undefined => {
  let regex: RegExp
  try {
    regex = new RegExp(pattern, "g")
  } catch {
    return undefined
  }
  let budget = PATTERN_CHARS
  let end = text.length
  while (budget > 0 && end > 0) {
    let start = end - 1
    const limit = end - budget
    while (start >= 0 && start >= limit && text[start] !== "\r" && text[start] !== "\n") start--
    const from = Math.max(start + 1, end - PATTERN_LINE_CHARS)
    const line = text.slice(from, end)
    budget -= line.length + 1
    end = start
    let found: Found | undefined
    for (const m of line.matchAll(regex)) {
      const done = Number(m.groups?.done)
      if (!Number.isFinite(done)) continue
      const total = Number(m.groups?.total)
      found = {
        done,
        total: Number.isFinite(total) ? total : null,
        message: m.groups?.message ?? null,
        source: "pattern"
      }
    }
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The last well-formed line of a JOBS_PROGRESS file: `DONE TOTAL [MESSAGE]` or `DONE/TOTAL [MESSAGE]` (TOTAL may be
 * `?`). Malformed lines are ignored, and so is a last line still being written.
 */
export const fromFile = (text: string): Found | undefined => {
  const lines = text.split("\n")
  lines.pop()
  for (let i = lines.length - 1; i >= 0; i--) {
    // trimmed first, so that no two parts of the pattern compete for the same spaces (linear in the line)
    const m = /^([\d.]+)(?:\s*\/\s*|\s+)([\d.]+|\?)(?:\s+([\s\S]*))?$/.exec(lines[i]!.trim())
    if (m === null) continue
    const done = Number(m[1])
    const total = m[2] === "?" ? Number.NaN : Number(m[2])
    if (!Number.isFinite(done)) continue
    return {
      done,
      total: Number.isFinite(total) && total > 0 ? total : null,
      message: m[3] === undefined || m[3] === "" ? null : m[3],
      source: "file"
    }
  }
  return undefined
}

/** The progress file of a job folder (the supervisor exports its path as JOBS_PROGRESS). */
export const fileOf = (dir: string): string => `${dir}/progress`

/** What a job's files say now: the explicit file first, then the user's pattern, then a tqdm bar. */
export const read = (
  paths: { readonly dir: string; readonly logPath: string },
  spec: Event.JobSpec | null
): Found | undefined => {
  const file = readTail(fileOf(paths.dir), 4096)
  const explicit = file === "" ? undefined : fromFile(file)
  if (explicit !== undefined) return explicit
  // the latest output: past --max-log-size it is in output.tail.N, not at the end of output.log
  const tail = OutputLog.readTail(paths, TAIL_BYTES)
  if (tail === "") return undefined
  const pattern = spec?.progressPattern
  return (pattern === undefined || pattern === null ? undefined : fromPattern(tail, pattern)) ?? fromTqdm(tail)
}

/**
 * The view every surface shows: percent, and a rate and ETA (tqdm's own when it says them, else from the time the
 * job has been running).
 */
export const view = (found: Found, state: JobState.JobState, now = Date.now()): JobState.ProgressView => {
  const percent = found.total === null ? null : Math.min(100, Math.max(0, (found.done / found.total) * 100))
  const started = state.startedAt === null ? Number.NaN : Date.parse(state.startedAt)
  const end = state.finishedAt === null ? now : Date.parse(state.finishedAt)
  const elapsed = (end - started) / 1000
  const rate = found.rate ?? (elapsed > 0 && found.done > 0 ? found.done / elapsed : null)
  const running = state.finishedAt === null
  const etaSecs = !running
    ? null
    : (found.etaSecs ??
      (found.total !== null && rate !== null && rate > 0 ? Math.max(0, (found.total - found.done) / rate) : null))
  return {
    done: found.done,
    total: found.total,
    percent: percent === null ? null : Math.round(percent * 10) / 10,
    rate: rate === null ? null : Math.round(rate * 1000) / 1000,
    etaSecs: etaSecs === null ? null : Math.round(etaSecs),
    // the job's own text (its output, from a worker too): no escape sequence reaches a table or the dashboard
    message: found.message === null ? null : untrustedText(found.message, 200),
    source: found.source
  }
}
