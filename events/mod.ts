// The vocabulary and the log of a job: event schema, JSONL codec, append, replay, follow, JSON Schema.
// Imports nothing of the rest of jobs, so a script author can use it alone.

/** JSONL encoding and tolerant decoding of event lines. */
export * as Codec from "./codec.ts"
/**
 * The event schema (v1), a union discriminated by `type`.
 *
 * @example
 * import { Event } from "jobs/events"
 * const decoded = Schema.decodeUnknownSync(Event.Event)(JSON.parse(line))
 */
export * as Event from "./event.ts"
/** Appending to and replaying a log file. */
export * as EventLog from "./event_log.ts"
/** Following a file (bytes, lines, events) as it grows, built on chokidar. */
export * as Follow from "./follow.ts"
/** The JSON Schema generated from the event schema. */
export * as JsonSchema from "./json_schema.ts"
/**
 * Reading a job folder's files safely: regular files only, never through a link, never blocking on a FIFO.
 *
 * @example
 * const bytes = RegularFile.readSync(logPath) // undefined when missing; throws RegularFile.Unreadable
 */
export * as RegularFile from "./regular_file.ts"
/**
 * What a worker may write into a job's log (the one list), and the check every line read back from a worker passes.
 *
 * @example
 * import { WorkerEvents } from "jobs/events"
 * const vetted = WorkerEvents.vetLine(line, { id, executor: "ssh" })
 */
export * as WorkerEvents from "./worker_events.ts"
