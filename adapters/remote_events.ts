// The worker's copy of a job's log brought home: split into lines at known byte offsets, each line vetted
// (events/worker_events.ts), the accepted ones re-encoded from their decoded value and appended once each, and what
// was refused counted in one MirrorRefused warning. Shared by the periodic mirror and the streamed follow.
import * as Fs from "node:fs"
import * as Path from "node:path"
import type * as Home from "../core/home.ts"
import * as Ids from "../core/ids.ts"
import { type Event, EventLog, RegularFile, WorkerEvents } from "../events/mod.ts"

/** One complete line of the remote log, at known remote byte offsets; a line over the cap keeps no text. */
export interface Line {
  readonly text: string
  readonly start: number
  readonly end: number
  readonly tooLong: boolean
}

/** Refusals by reason. */
export type Tally = Partial<Record<WorkerEvents.Refusal, number>>

const countOf = (tally: Tally): number => Object.values(tally).reduce((a, b) => a + (b ?? 0), 0)

const add = (tally: Tally, reason: WorkerEvents.Refusal, n = 1) => {
  tally[reason] = (tally[reason] ?? 0) + n
}

/** Adds `more` into `into`. */
export const merge = (into: Tally, more: Tally): void => {
  for (const [reason, n] of Object.entries(more)) add(into, reason as WorkerEvents.Refusal, n ?? 0)
}

interface Offsets {
  /** Bytes of the remote log already handled. */
  readonly at: number
  /** Whether `at` is inside a line over the cap, whose rest is dropped up to its `\n`. */
  readonly skipping: boolean
}

const offsetsFile = (paths: Home.JobPaths) => Path.join(paths.dir, "remote-offsets")

/** How far the remote log was handled. */
export const offsets = (paths: Home.JobPaths): Offsets => {
  try {
    const [at, skipping] = Fs.readFileSync(offsetsFile(paths), "utf8").trim().split(" ")
    const n = Number(at)
    return { at: Number.isSafeInteger(n) && n > 0 ? n : 0, skipping: skipping === "1" }
  } catch {
    return { at: 0, skipping: false }
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/**
 * Runs `f` holding the job's mirror lock (a directory made atomically), so that two mirrors — a `logs -f` and a
 * `list` — never both append one event or count one refusal. A lock older than 30 s is a crashed holder's.
 */
const withMirrorLock = <A>(paths: Home.JobPaths, f: () => A): A => {
  const lock = Path.join(paths.dir, "mirror.lock")
  for (let i = 0; ; i++) {
    try {
      Fs.mkdirSync(lock, { mode: 0o700 })
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      try {
        if (Date.now() - Fs.statSync(lock).mtimeMs > 30_000 || i > 2000) Fs.rmdirSync(lock)
      } catch {
        // released meanwhile
      }
      sleepSync(2)
    }
  }
  try {
    return f()
  } finally {
    Fs.rmdirSync(lock)
  }
}

/**
 * Splits remote log bytes (read from `from` on) into complete lines with their offsets. A line that grows past the
 * cap without its `\n` comes out once as too long, and its rest is dropped up to its end, across calls and passes.
 */
export const splitter = (from: Offsets) => {
  let pending: Buffer = Buffer.alloc(0)
  let pendingAt = from.at
  let skipping = from.skipping
  return (chunk: Buffer): { lines: Array<Line>; consumedTo: number; skipping: boolean } => {
    let bytes = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    let at = pendingAt
    if (skipping) {
      const nl = bytes.indexOf(10)
      if (nl < 0) {
        pending = Buffer.alloc(0)
        pendingAt = at + bytes.length
        return { lines: [], consumedTo: pendingAt, skipping }
      }
      skipping = false
      bytes = bytes.subarray(nl + 1)
      at += nl + 1
    }
    const lines: Array<Line> = []
    let start = 0
    for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, start)) {
      // the cap is checked on the bytes, before anything is decoded
      const tooLong = nl - start > WorkerEvents.MAX_LINE_BYTES
      lines.push({
        text: tooLong ? "" : bytes.toString("utf8", start, nl),
        start: at + start,
        end: at + nl + 1,
        tooLong
      })
      start = nl + 1
    }
    pending = bytes.subarray(start)
    pendingAt = at + start
    if (pending.length > WorkerEvents.MAX_LINE_BYTES) {
      lines.push({ text: "", start: pendingAt, end: pendingAt + pending.length, tooLong: true })
      skipping = true
      pendingAt += pending.length
      pending = Buffer.alloc(0)
    }
    return { lines, consumedTo: pendingAt, skipping }
  }
}

/** What is known of the command when the lines were read (its liveness is judged after they were read). */
export interface Judge {
  /** true: the command still ran after these lines were read, so an Exited among them is forged. undefined: not judged. */
  readonly commandAlive: boolean | undefined
}

/** What appending a batch did. */
export interface Appended {
  /** An end of the job (Exited) was mirrored. */
  readonly ended: boolean
  /** The index of the first line left for later (an Exited that could not be judged yet), if any. */
  readonly deferredAt: number | undefined
  /** What was refused, when the caller records it itself. */
  readonly tally: Tally
}

const idOf = (line: string) => /"id":"([^"]+)"/.exec(line)?.[1]

/**
 * Vets a batch of remote lines and appends the accepted events (re-encoded, each id once), then records how far the
 * remote log was handled. Lines a concurrent mirror handled already are skipped, so nothing is counted twice.
 *
 * An Exited is the supervisor's last word on the command: one read while the command still ran is forged; of
 * several in one batch, the last stands; one that cannot be judged yet (the command's Started is not home yet) leaves
 * the batch for the next pass. With `record`, the refusals go to one MirrorRefused event.
 */
export const append = (
  paths: Home.JobPaths,
  job: { readonly id: string; readonly executor: string },
  batch: {
    readonly lines: ReadonlyArray<Line>
    readonly consumedTo: number
    readonly skipping: boolean
  },
  judge: Judge,
  record: boolean
): Appended =>
  withMirrorLock(paths, () => {
    const done = offsets(paths)
    const local = RegularFile.readTextOr(paths.eventsPath, "")
    const seen = new Set(local.split("\n").map(idOf))
    let started = local.includes('"type":"Started"')
    const tally: Tally = {}
    const accepted: Array<Event.Event> = []
    let end: number | undefined
    let deferredAt: number | undefined
    for (const [i, line] of batch.lines.entries()) {
      if (line.end <= done.at) continue
      if (line.text === "") {
        if (line.tooLong) add(tally, "too-long")
        continue
      }
      const vetted = WorkerEvents.vetLine(line.text, job)
      if (vetted._tag === "Refused") {
        add(tally, vetted.reason)
        continue
      }
      const event = vetted.event
      if (event.type === "Exited") {
        if (judge.commandAlive === true) {
          add(tally, "end-while-running")
          continue
        }
        if (judge.commandAlive === undefined && started) {
          deferredAt = i
          break
        }
        if (seen.has(event.id)) continue
        if (end !== undefined) {
          accepted.splice(end, 1)
          add(tally, "superseded-end")
        }
        end = accepted.length
        accepted.push(event)
        continue
      }
      if (seen.has(event.id)) continue
      seen.add(event.id)
      if (event.type === "Started") started = true
      accepted.push(event)
    }
    // the end goes last: what came after it in the batch is from before it to any reader
    if (end !== undefined) accepted.push(...accepted.splice(end, 1))
    if (accepted.length > 0) EventLog.appendSync(paths.eventsPath, accepted)
    // an end left for later leaves the whole batch for later (what was accepted is home, and is not taken twice):
    // its refusals are counted once, in the pass that judges it
    if (deferredAt !== undefined) return { ended: false, deferredAt, tally: {} }
    if (record) recordLocked(paths, job.id, local, tally)
    if (batch.consumedTo > done.at)
      Fs.writeFileSync(offsetsFile(paths), `${batch.consumedTo} ${batch.skipping ? 1 : 0}\n`, { mode: 0o600 })
    return { ended: end !== undefined, deferredAt, tally: record ? {} : tally }
  })

const recordLocked = (paths: Home.JobPaths, id: string, local: string, tally: Tally) => {
  const count = countOf(tally)
  if (count === 0) return
  let before = 0
  for (const line of local.split("\n")) {
    if (!line.includes('"type":"MirrorRefused"')) continue
    const total = /"total":(\d+)/.exec(line)?.[1]
    if (total !== undefined) before = Math.max(before, Number(total))
  }
  const event: Event.Event = {
    type: "MirrorRefused",
    v: 1,
    id: Ids.make(),
    job: id,
    at: new Date().toISOString(),
    count,
    total: before + count,
    reasons: Object.fromEntries(Object.entries(tally).filter((e): e is [string, number] => e[1] !== undefined))
  }
  EventLog.appendSync(paths.eventsPath, [event])
}

/** Records refusals a caller gathered over several batches (a follow), in one MirrorRefused event. */
export const record = (paths: Home.JobPaths, id: string, tally: Tally): void => {
  if (countOf(tally) === 0) return
  withMirrorLock(paths, () => recordLocked(paths, id, RegularFile.readTextOr(paths.eventsPath, ""), tally))
}
