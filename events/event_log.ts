// The append-only log file: append one whole line per write, replay without ever throwing.

import * as Fs from "node:fs"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Codec from "./codec.ts"
import * as Event from "./event.ts"
import * as RegularFile from "./regular_file.ts"

/** An append that did not reach the disk whole. */
export class AppendError extends Data.TaggedError("AppendError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `Cannot append to "${this.path}": ${describe(this.cause)}`
  }
}

const describe = (cause: unknown): string => RegularFile.reasonOf(cause)

/**
 * Appends lines with a single `write` on an O_APPEND descriptor, so writers in different processes never
 * interleave. Lifecycle events are fsynced. A short write (a full disk) is closed with `\n` so the damage stays
 * on that one line, and fails.
 */
export const appendSync = (
  path: string,
  events: ReadonlyArray<Event.Event>,
  options: { readonly sync?: boolean } = {}
): void =>
  // `sync: false` is for a caller that fsyncs a whole batch of files itself before relying on them
  writeLines(path, events.map(Codec.encodeLine).join(""), options.sync !== false && events.some(Event.isLifecycle))

/**
 * Appends lines already encoded elsewhere (a worker's log being mirrored), in one write, fsynced: they may hold
 * a job's end.
 */
export const appendLinesSync = (path: string, lines: ReadonlyArray<string>): void =>
  writeLines(path, lines.map((l) => `${l}\n`).join(""), true)

const writeLines = (path: string, text: string, sync: boolean): void => {
  const bytes = Buffer.from(text, "utf8")
  // O_NOFOLLOW: a link planted in place of the log is refused, not written through
  const fd = Fs.openSync(
    path,
    Fs.constants.O_WRONLY |
      Fs.constants.O_APPEND |
      Fs.constants.O_CREAT |
      Fs.constants.O_NOFOLLOW |
      Fs.constants.O_NONBLOCK,
    0o600
  )
  try {
    if (!Fs.fstatSync(fd).isFile()) throw new Error("not a regular file")
    const written = Fs.writeSync(fd, bytes)
    if (written !== bytes.length) {
      try {
        Fs.writeSync(fd, "\n")
      } catch {
        // the disk is full: the reader skips the torn line either way
      }
      throw new Error(`short write (${written} of ${bytes.length} bytes)`)
    }
    if (sync) Fs.fsyncSync(fd)
  } finally {
    Fs.closeSync(fd)
  }
}

/**
 * Appends events to a log as one write.
 *
 * @example
 * yield* EventLog.append("/home/me/.jobs/jobs/01J.../events.jsonl", [event])
 */
export const append = (path: string, ...events: ReadonlyArray<Event.Event>): Effect.Effect<void, AppendError> =>
  Effect.try({ try: () => appendSync(path, events), catch: (cause) => new AppendError({ path, cause }) })

/** A replayed log: its events, how many lines were skipped, and the byte offset just after the last whole line. */
export interface Replayed extends Codec.Decoded {
  /**
   * Why the log could not be read at all, in words ("no such file", "not a regular file", "permission denied",
   * "is a directory"); absent when it was read.
   */
  readonly problem?: string
}

const empty: Replayed = { events: [], skipped: 0, newer: 0, consumed: 0 }

/**
 * Reads a log from `offset`. Never fails: a log that cannot be read (missing, not a regular file, unreadable) is an
 * empty log with its `problem` said, a torn last line is left unconsumed and an undecodable line is counted in
 * `skipped`. Only a regular file is read, never through a symbolic link, never waiting on a FIFO.
 */
export const replaySync = (path: string, offset = 0): Replayed => {
  let bytes: Buffer | undefined
  try {
    bytes = RegularFile.readSync(path, offset)
  } catch (e) {
    return { ...empty, problem: e instanceof RegularFile.Unreadable ? e.reason : RegularFile.reasonOf(e) }
  }
  return bytes === undefined ? { ...empty, problem: "no such file" } : Codec.decodeChunk(bytes)
}

/**
 * Replays a whole log as an Effect that never fails.
 *
 * @example
 * const { events, skipped } = yield* EventLog.replay(path)
 */
export const replay = (path: string, offset = 0): Effect.Effect<Replayed> => Effect.sync(() => replaySync(path, offset))
