// JSONL codec for the event log: pure functions from events to lines and from bytes back to events.
import * as Schema from "effect/Schema"
import * as Event from "./event.ts"

const encodeEvent = Schema.encodeSync(Event.Event)
const decodeEvent = Schema.decodeUnknownEither(Event.Event)

/**
 * One event as one `\n`-terminated JSON line.
 *
 * @example
 * const line = Codec.encodeLine(event) // '{"type":"Exited",...}\n'
 */
export const encodeLine = (event: Event.Event): string => JSON.stringify(encodeEvent(event)) + "\n"

/** What decoding a chunk of a log gave. */
export interface Decoded {
  readonly events: ReadonlyArray<Event.Event>
  /** Complete lines that were not a valid event (skipped, never thrown). */
  readonly skipped: number
  /**
   * The highest schema version above this build's among the lines (0 when none): such lines are left out, never
   * read as if they were of an older version, and the reader says that jobs needs an upgrade.
   */
  readonly newer: number
  /** Bytes consumed: everything up to and including the last `\n`. An unterminated tail is left for later. */
  readonly consumed: number
}

/** One line: an event, a line of a newer schema version (its `v`), or undefined when it is not a valid event. */
const decode = (line: string): Event.Event | number | undefined => {
  if (line.length === 0) return undefined
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return undefined
  }
  const v = typeof json === "object" && json !== null ? (json as { readonly v?: unknown }).v : undefined
  if (typeof v === "number" && v > Event.VERSION) return v
  const decoded = decodeEvent(json)
  return decoded._tag === "Right" ? decoded.right : undefined
}

/** Decodes one line of text (without its `\n`); undefined when it is not a valid event of a version this build reads. */
export const decodeLine = (line: string): Event.Event | undefined => {
  const decoded = decode(line)
  return typeof decoded === "number" ? undefined : decoded
}

/**
 * Decodes every complete line of a chunk. A last line without `\n` is an append in progress (or a torn write
 * from a crash) and is not consumed.
 */
export const decodeChunk = (bytes: Uint8Array): Decoded => {
  const end = bytes.lastIndexOf(10)
  if (end < 0) return { events: [], skipped: 0, newer: 0, consumed: 0 }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8")
  const events: Array<Event.Event> = []
  let skipped = 0
  let newer = 0
  for (const line of text.split("\n")) {
    if (line.length === 0) continue
    const event = decode(line)
    if (event === undefined) skipped++
    else if (typeof event === "number") newer = Math.max(newer, event)
    else events.push(event)
  }
  return { events, skipped, newer, consumed: end + 1 }
}
