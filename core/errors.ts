// The errors of the domain. Every message has one shape: Cannot <do what> <to what>: <why>.
import * as Data from "effect/Data"
import * as RegularFile from "../events/regular_file.ts"

/** A reference that names no job. */
export class JobNotFound extends Data.TaggedError("JobNotFound")<{
  readonly reference: string
  /** The reference is the start of some job's id, but shorter than a prefix may be (`minPrefix` characters). */
  readonly minPrefix?: number | undefined
}> {
  override get message() {
    return this.minPrefix !== undefined
      ? `Cannot find job "${this.reference}": a prefix needs at least ${this.minPrefix} characters`
      : `Cannot find job "${this.reference}": no job has this id, short id or name`
  }
}

/** A reference that names several jobs. */
export class AmbiguousReference extends Data.TaggedError("AmbiguousReference")<{
  readonly reference: string
  readonly candidates: ReadonlyArray<string>
}> {
  override get message() {
    const shown = this.candidates.slice(0, 5).join(", ")
    const more = this.candidates.length > 5 ? `, and ${this.candidates.length - 5} more` : ""
    return `Cannot resolve job "${this.reference}": it matches ${this.candidates.length} jobs (${shown}${more})`
  }
}

/** Input that a user got wrong (a bad flag value, an empty command, an unreadable env file). */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{ readonly message: string }> {}

/** A failure of the state directory or of a job's files. */
export class StorageError extends Data.TaggedError("StorageError")<{
  readonly action: string
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    const code = (this.cause as NodeJS.ErrnoException | undefined)?.code
    // a file where a folder must be: the path cannot be made or entered
    const why = code === "ENOTDIR" || code === "EEXIST" ? "not a directory" : RegularFile.reasonOf(this.cause)
    return `Cannot ${this.action} "${this.path}": ${why}`
  }
}

/** A job folder that cannot be read as a job: its log is missing, empty, unreadable, or not a regular file. */
export class DamagedJob extends Data.TaggedError("DamagedJob")<{
  readonly id: string
  /** What is wrong, e.g. `cannot read events.jsonl: not a regular file`. */
  readonly reason: string
}> {
  override get message() {
    return `Cannot read job "${this.id}": ${this.reason} (removing it with force deletes its folder)`
  }
}

/** An operation refused because of the job's state (rm of a running job without --force). */
export class JobStateConflict extends Data.TaggedError("JobStateConflict")<{ readonly message: string }> {}

/** The executor could not start the job. */
export class StartFailed extends Data.TaggedError("StartFailed")<{ readonly job: string; readonly why: string }> {
  override get message() {
    return `Cannot start job "${this.job.length === 26 ? this.job.slice(-8).toLowerCase() : this.job}": ${this.why}`
  }
}

/** An executor that cannot work here (its tools are missing), found before anything of the job was written. */
export class Unavailable extends Data.TaggedError("Unavailable")<{ readonly executor: string; readonly why: string }> {
  override get message() {
    return `Cannot run job with ${this.executor}: ${this.why}`
  }
}

/** Every error the Jobs service can fail with. */
export type JobsError =
  | JobNotFound
  | DamagedJob
  | AmbiguousReference
  | InvalidInput
  | StorageError
  | JobStateConflict
  | StartFailed
  | Unavailable

/**
 * Text from the other side of a trust boundary (a worker's or rsync's stderr, a provider's message) made fit for an
 * error message, an event or a terminal: control characters (escape sequences included) become "?", and it is cut
 * to `max` characters.
 *
 * @example
 * untrustedText("\x1b]0;pwned\x07disk full", 100) // "?]0;pwned?disk full"
 */
export const untrustedText = (text: string, max = 300): string => {
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?")
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}
