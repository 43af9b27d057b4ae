// A rebuildable index of ended jobs (status, project, name) in cache/, so that `list --status`, the project
// filter and name lookups need not replay every log. Only ended jobs are indexed: their logs no longer change,
// so an entry never goes stale; rows that are shown are always replayed from their logs.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { makeDirs } from "./dirs.ts"
import type * as Home from "./home.ts"
import * as JobState from "./job_state.ts"

/** What the index knows of an ended job. */
export interface Entry {
  readonly status: JobState.Status
  readonly project: string | null
  readonly name: string | null
}

const HEADER = "jobs-index v1\n"

const file = (layout: Home.Layout) => Path.join(layout.cache, "index-v1.tsv")

/** A short stable hash (FNV-1a, 32 bits) naming a project path within the file. */
const hash = (text: string): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(36)
}

/**
 * Reads the index; an absent or unreadable file is an empty index. Lines are `P <hash> <json path>` (a project)
 * and `J <id> <status> <project hash or -> <json name or null>`; a line it cannot read is ignored. This runs on
 * every filtered `list`, so it scans the text by hand and decodes a name only when it is asked for.
 */
export const load = (layout: Home.Layout): Map<string, Entry> => {
  const entries = new Map<string, Entry>()
  let text: string
  try {
    text = Fs.readFileSync(file(layout), "utf8")
  } catch {
    return entries
  }
  if (!text.startsWith(HEADER)) return entries
  const projects = new Map<string, string | null>([["-", null]])
  let at = HEADER.length
  for (;;) {
    const end = text.indexOf("\n", at)
    if (end < 0) break
    const kind = text.charCodeAt(at)
    const t1 = text.indexOf("\t", at + 2)
    const t2 = t1 < 0 || t1 > end ? -1 : text.indexOf("\t", t1 + 1)
    if (kind === 74 /* J */ && t2 > 0 && t2 < end) {
      const t3 = text.indexOf("\t", t2 + 1)
      if (t3 > 0 && t3 < end) {
        const status = text.slice(t1 + 1, t2) as JobState.Status
        const project = projects.get(text.slice(t2 + 1, t3))
        if (project !== undefined && JobState.isTerminal(status)) {
          entries.set(text.slice(at + 2, t1), new LazyEntry(status, project, text.slice(t3 + 1, end)))
        }
      }
    } else if (kind === 80 /* P */ && t1 > 0 && t1 < end) {
      try {
        projects.set(text.slice(at + 2, t1), JSON.parse(text.slice(t1 + 1, end)) as string)
      } catch {
        // a torn or foreign line: the log is the truth, the index only a shortcut
      }
    }
    at = end + 1
  }
  return entries
}

class LazyEntry implements Entry {
  readonly status: JobState.Status
  readonly project: string | null
  private readonly rawName: string
  constructor(status: JobState.Status, project: string | null, rawName: string) {
    this.status = status
    this.project = project
    this.rawName = rawName
  }
  get name(): string | null {
    try {
      return JSON.parse(this.rawName) as string | null
    } catch {
      return null
    }
  }
}

/** Adds ended jobs to the index in one append. Failures are ignored: the index is only a cache. */
export const append = (layout: Home.Layout, jobs: ReadonlyArray<readonly [string, Entry]>): void => {
  if (jobs.length === 0) return
  let text = ""
  const defined = new Set<string>()
  for (const [id, entry] of jobs) {
    if (!JobState.isTerminal(entry.status)) continue
    let key = "-"
    if (entry.project !== null) {
      key = hash(entry.project)
      if (!defined.has(key)) {
        text += `P\t${key}\t${JSON.stringify(entry.project)}\n`
        defined.add(key)
      }
    }
    text += `J\t${id}\t${entry.status}\t${key}\t${JSON.stringify(entry.name)}\n`
  }
  try {
    makeDirs(layout.cache)
    const path = file(layout)
    const fd = Fs.openSync(path, Fs.constants.O_WRONLY | Fs.constants.O_APPEND | Fs.constants.O_CREAT, 0o600)
    try {
      // the header goes in only when this call created the file: appends race, so it is part of the same write
      if (Fs.fstatSync(fd).size === 0) text = HEADER + text
      Fs.writeSync(fd, text)
    } finally {
      Fs.closeSync(fd)
    }
  } catch {
    // no cache, no harm
  }
}

/** The entry of a loaded job, if it has ended. */
export const entryOf = (state: JobState.JobState): Entry | undefined =>
  JobState.isTerminal(state.status)
    ? { status: state.status, project: state.spec?.project ?? null, name: state.spec?.name ?? null }
    : undefined
