// The bundle of `jobs __complete WORD...` (dist/complete.cjs), which the shells' completion scripts call on every
// Tab: the command tree comes from dist/completion_spec.json (written by the build), the dynamic values from a few
// cheap reads of the home (folder names, the index of ended jobs, the first line of the others' logs). No Effect,
// no command code: it must answer well within a keystroke.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Groups from "../core/groups.ts"
import * as Home from "../core/home.ts"
import * as Ids from "../core/ids.ts"
import * as JobIndex from "../core/job_index.ts"
import * as RegularFile from "../events/regular_file.ts"
import * as Completion from "./completion.ts"

/** How much of a log is read first for its first line (a Submitted event with its spec; most are under 1 KB). */
const HEAD_BYTES = 2048
/** The most read for a first line: a longer one (a huge command line) is skipped. */
const MAX_HEAD_BYTES = 65536

// one buffer for every log read (a new one per job would cost a garbage collection or two per Tab)
let buffer = Buffer.allocUnsafe(HEAD_BYTES)

/** The first line of a regular file (never through a link, a FIFO or a device), or undefined. */
const firstLine = (path: string): string | undefined => {
  let fd: number | undefined
  try {
    fd = RegularFile.openSync(path)
    if (fd === undefined) return undefined
    let length = 0
    for (;;) {
      const n = Fs.readSync(fd, buffer, length, buffer.length - length, length)
      const end = buffer.indexOf(10, length)
      length += n
      if (end >= 0 && end < length) return buffer.toString("utf8", 0, end)
      if (n === 0 || buffer.length >= MAX_HEAD_BYTES) return undefined
      const bigger = Buffer.allocUnsafe(buffer.length * 4)
      buffer.copy(bigger, 0, 0, length)
      buffer = bigger
    }
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) Fs.closeSync(fd)
  }
}

/**
 * A job's name from the first line of its log, or null. The log is the job's own (its code could write it), so the
 * line is decoded field by field: only a Submitted event's string `spec.name` is taken; the caller keeps only names
 * a shell can show as one candidate.
 */
const nameInLog = (layout: Home.Layout, id: string): string | null => {
  // ids are checked ULIDs: no path arithmetic needed
  const line = firstLine(`${layout.jobs}/${id}/events.jsonl`)
  if (line === undefined) return null
  try {
    const event = JSON.parse(line) as unknown
    if (typeof event !== "object" || event === null) return null
    const { type, spec } = event as { type?: unknown; spec?: unknown }
    if (type !== "Submitted" || typeof spec !== "object" || spec === null) return null
    const name = (spec as { name?: unknown }).name
    return typeof name === "string" ? name : null
  } catch {
    return null
  }
}

/** The jobs of the home, newest first (ids sort by time). */
const jobsOf = (layout: Home.Layout) => () => {
  let ids: Array<string>
  try {
    ids = Fs.readdirSync(layout.jobs).filter(Ids.isId)
  } catch {
    return []
  }
  ids.sort().reverse()
  const index = JobIndex.load(layout)
  return ids.map((id) => {
    const entry = index.get(id)
    return entry === undefined
      ? { id, name: nameInLog(layout, id) }
      : { id, name: entry.name, status: entry.status as string }
  })
}

/** Worker names from workers.yaml: only the `- name:` lines are read (Workers.read decodes the whole file). */
const workersOf = (layout: Home.Layout) => (): Array<string> => {
  let text: string
  try {
    text = RegularFile.readSync(Path.join(layout.home, "workers.yaml"))?.toString("utf8") ?? ""
  } catch {
    return []
  }
  const names: Array<string> = []
  for (const match of text.matchAll(/^- name: (.*)$/gm)) {
    try {
      const name = JSON.parse(match[1]!) as unknown
      if (typeof name === "string") names.push(name)
    } catch {
      // a line this version does not write: not a worker it can name
    }
  }
  return names
}

/** The value of `--home` among the words (the completion is about that home), else JOBS_HOME, else ~/.jobs. */
const homeFlag = (words: ReadonlyArray<string>): string | undefined => {
  let home: string | undefined
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === "--") break
    if (words[i] === "--home" && i + 1 < words.length - 1) home = words[i + 1]
    else if (words[i]!.startsWith("--home=")) home = words[i]!.slice("--home=".length)
  }
  return home
}

/** Runs `jobs __complete WORD...`: prints the answer (see Completion.format); never fails, at worst says nothing. */
export const main = (args: ReadonlyArray<string>): Promise<number> => {
  const at = args.indexOf("__complete")
  const words = args.slice(at + 1)
  if (words[0] === "--") words.shift()
  let spec: Completion.Spec
  try {
    spec = JSON.parse(Fs.readFileSync(Path.join(__dirname, "completion_spec.json"), "utf8")) as Completion.Spec
  } catch {
    process.stdout.write("values\n")
    return Promise.resolve(1)
  }
  try {
    const layout = Home.layout(Home.resolve(homeFlag(words)))
    const sources: Completion.Sources = {
      jobs: jobsOf(layout),
      workers: workersOf(layout),
      groups: () => Groups.names(layout)
    }
    process.stdout.write(Completion.format(Completion.complete(spec.tree, words, sources, spec.lists)))
    return Promise.resolve(0)
  } catch {
    // a home that cannot be read (its folder removed under us): no candidates rather than a stack trace in the prompt
    process.stdout.write("values\n")
    return Promise.resolve(1)
  }
}
