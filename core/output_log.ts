// A job's output as one readable stream. Past --max-log-size the supervisor keeps the head in output.log and the
// latest output in output.tail.N pieces (the last two): read together they are the head, a marker line saying how
// much was skipped, then the latest output. Every reader (logs, logs --tail, logs -f, progress, MCP, dashboard)
// reads through here, so none of them shows the end of the head as if it were the latest output.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as RegularFile from "../events/regular_file.ts"

/** Where a reader is: in output.log (piece -1) or in output.tail.N, at a byte offset. */
export interface Cursor {
  readonly piece: number
  readonly offset: number
}

export const START: Cursor = { piece: -1, offset: 0 }

/** The marker between the head and the latest output. */
export const marker = (skipped: number): string => `\n[jobs: ${skipped} bytes skipped]\n`

/** The numbers of the output.tail.N pieces there now, in order. */
const pieces = (dir: string): Array<number> => {
  let names: Array<string>
  try {
    names = Fs.readdirSync(dir)
  } catch {
    return []
  }
  return names
    .map((n) => /^output\.tail\.(\d+)$/.exec(n))
    .flatMap((m) => (m === null ? [] : [Number(m[1])]))
    .sort((a, b) => a - b)
}

const piecePath = (dir: string, n: number) => Path.join(dir, `output.tail.${n}`)

/** Bytes of a regular file from an offset (empty when it is missing or not a regular file). */
const readFrom = (path: string, offset: number): Buffer | undefined => {
  try {
    const size = RegularFile.sizeSync(path)
    if (size === undefined) return undefined
    return RegularFile.readSync(path, offset, Math.max(0, size - offset)) ?? Buffer.alloc(0)
  } catch {
    return Buffer.alloc(0)
  }
}

/** Whether the output was capped: a piece of the latest output exists. */
export const isCapped = (paths: { readonly dir: string }): boolean => pieces(paths.dir).length > 0

/**
 * What is readable from `cursor` now, and where the next read starts. A piece is read to its end only once the
 * next one exists (it is complete then); a reader that fell behind the pieces kept gets the marker and goes on at
 * the oldest piece there.
 */
export const readNow = (
  paths: { readonly dir: string; readonly logPath: string },
  cursor: Cursor
): { readonly bytes: Buffer; readonly next: Cursor } => {
  const parts: Array<Buffer> = []
  let at = cursor
  for (let guard = 0; guard < 8; guard++) {
    const there = pieces(paths.dir)
    if (at.piece === -1) {
      const complete = there.length > 0
      const bytes = readFrom(paths.logPath, at.offset) ?? Buffer.alloc(0)
      parts.push(bytes)
      const end = at.offset + bytes.length
      if (!complete) return { bytes: Buffer.concat(parts), next: { piece: -1, offset: end } }
      const first = there[0]!
      // every piece but the growing one is a quarter of the limit (the head's size) plus one
      const chunk = Math.floor(end / 4) + 1
      if (first > 0) parts.push(Buffer.from(marker(first * chunk)))
      at = { piece: first, offset: 0 }
      continue
    }
    const later = there.filter((n) => n > at.piece)
    if (!there.includes(at.piece)) {
      // removed under us (the reader fell behind): go on at the oldest piece still there
      if (later.length === 0) return { bytes: Buffer.concat(parts), next: at }
      const headSize = RegularFile.sizeSync(paths.logPath) ?? 0
      const chunk = Math.floor(headSize / 4) + 1
      parts.push(Buffer.from(marker((later[0]! - at.piece) * chunk - at.offset)))
      at = { piece: later[0]!, offset: 0 }
      continue
    }
    const bytes = readFrom(piecePath(paths.dir, at.piece), at.offset) ?? Buffer.alloc(0)
    parts.push(bytes)
    const end = at.offset + bytes.length
    if (later.length === 0) return { bytes: Buffer.concat(parts), next: { piece: at.piece, offset: end } }
    at = { piece: later[0]!, offset: 0 }
  }
  return { bytes: Buffer.concat(parts), next: at }
}

/** The whole readable output now: the head, and past the cap the marker and the latest output. */
export const readAll = (paths: { readonly dir: string; readonly logPath: string }): Buffer =>
  readNow(paths, START).bytes

/** The last `bytes` bytes of the readable output (what progress detection looks at). */
export const readTail = (paths: { readonly dir: string; readonly logPath: string }, bytes: number): string => {
  if (!isCapped(paths)) {
    try {
      return RegularFile.readTailSync(paths.logPath, bytes)?.toString("utf8") ?? ""
    } catch {
      return ""
    }
  }
  // the latest pieces, newest last, only as far back as needed (a large limit is not read whole)
  const parts: Array<Buffer> = []
  let have = 0
  for (const n of pieces(paths.dir).reverse()) {
    let part: Buffer | undefined
    try {
      part = RegularFile.readTailSync(piecePath(paths.dir, n), bytes - have)
    } catch {
      part = undefined
    }
    if (part === undefined) continue
    parts.unshift(part)
    have += part.length
    if (have >= bytes) break
  }
  return Buffer.concat(parts).toString("utf8")
}

/** The last `lines` lines of a buffer (a final newline ends the last line). */
export const lastLines = (bytes: Buffer, lines: number): Buffer => {
  if (lines <= 0) return Buffer.alloc(0)
  let seen = 0
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] !== 10 || i === bytes.length - 1) continue
    seen++
    if (seen === lines) return bytes.subarray(i + 1)
  }
  return bytes
}

/** Whether the job has an output limit (its `limits` file), so that its output may become capped as it runs. */
export const isLimited = (paths: { readonly dir: string }): boolean => {
  try {
    return RegularFile.sizeSync(Path.join(paths.dir, "limits")) !== undefined
  } catch {
    return false
  }
}

/** The size of the readable output now (what readAll would return), without reading it. */
export const size = (paths: { readonly dir: string; readonly logPath: string }): number => offsetOf(paths, end(paths))

/** Where the readable output ends now: a follower that starts there sees only what comes next. */
export const end = (paths: { readonly dir: string; readonly logPath: string }): Cursor => {
  const last = pieces(paths.dir).at(-1)
  const path = last === undefined ? paths.logPath : piecePath(paths.dir, last)
  let offset = 0
  try {
    offset = RegularFile.sizeSync(path) ?? 0
  } catch {
    offset = 0
  }
  return { piece: last ?? -1, offset }
}

/** A cursor as text ("OFFSET" in output.log, "PIECE:OFFSET" in a piece), for a resumable position (SSE ids). */
export const formatCursor = (cursor: Cursor): string =>
  cursor.piece === -1 ? `${cursor.offset}` : `${cursor.piece}:${cursor.offset}`

/** A cursor from its text; undefined when it is not one. */
export const parseCursor = (text: string): Cursor | undefined => {
  const m = /^(\d{1,15})(?::(\d{1,15}))?$/.exec(text)
  if (m === null) return undefined
  return m[2] === undefined ? { piece: -1, offset: Number(m[1]) } : { piece: Number(m[1]), offset: Number(m[2]) }
}

/**
 * A capped job's readable output as a stream from `cursor`, polled until `done` (then drained once more), each
 * chunk with the cursor just after it. Uncapped output is followed by Follow.bytes, which watches the one file.
 */
export const followWithCursor = <E>(
  paths: { readonly dir: string; readonly logPath: string },
  options: { readonly cursor: Cursor; readonly done: Effect.Effect<boolean, E> }
): Stream.Stream<{ readonly bytes: Uint8Array; readonly next: Cursor }, E> =>
  Stream.paginateChunkEffect({ cursor: options.cursor, ended: false }, (state) =>
    Effect.gen(function* () {
      if (state.ended) return [Chunk.empty<{ bytes: Uint8Array; next: Cursor }>(), Option.none()] as const
      const ended = yield* options.done
      const { bytes, next } = readNow(paths, state.cursor)
      if (bytes.length === 0 && !ended) yield* Effect.sleep("200 millis")
      const chunk =
        bytes.length === 0
          ? Chunk.empty<{ bytes: Uint8Array; next: Cursor }>()
          : Chunk.of({ bytes: new Uint8Array(bytes), next })
      return [chunk, Option.some({ cursor: next, ended })] as const
    })
  )

/** followWithCursor's bytes alone (`jobs logs -f` of a capped job). */
export const follow = <E>(
  paths: { readonly dir: string; readonly logPath: string },
  options: { readonly cursor: Cursor; readonly done: Effect.Effect<boolean, E> }
): Stream.Stream<Uint8Array, E> => followWithCursor(paths, options).pipe(Stream.map((r) => r.bytes))

/**
 * The last `bytes` bytes of the readable output, where they start in it (for a reader paging back) and the cursor
 * just after them (for a follower that goes on from there: nothing shown twice, nothing missed).
 */
export const tailNow = (
  paths: { readonly dir: string; readonly logPath: string },
  bytes: number
): { readonly bytes: Buffer; readonly start: number; readonly next: Cursor } => {
  const next = end(paths)
  const readPart = (path: string, to: number, want: number): Buffer => {
    const from = Math.max(0, to - want)
    try {
      return RegularFile.readSync(path, from, to - from) ?? Buffer.alloc(0)
    } catch {
      return Buffer.alloc(0)
    }
  }
  if (next.piece === -1) {
    const part = readPart(paths.logPath, next.offset, bytes)
    return { bytes: part, start: next.offset - part.length, next }
  }
  const parts = [readPart(piecePath(paths.dir, next.piece), next.offset, bytes)]
  let have = parts[0]!.length
  for (const n of pieces(paths.dir)
    .filter((p) => p < next.piece)
    .reverse()) {
    if (have >= bytes) break
    let size = 0
    try {
      size = RegularFile.sizeSync(piecePath(paths.dir, n)) ?? 0
    } catch {
      size = 0
    }
    const part = readPart(piecePath(paths.dir, n), size, bytes - have)
    parts.unshift(part)
    have += part.length
  }
  const text = Buffer.concat(parts)
  return { bytes: text, start: Math.max(0, offsetOf(paths, next) - text.length), next }
}

/** Where a cursor is in the readable output as it stands now (the head, the marker, the pieces kept). */
const offsetOf = (paths: { readonly dir: string; readonly logPath: string }, cursor: Cursor): number => {
  if (cursor.piece === -1) return cursor.offset
  const sizeOf = (path: string) => {
    try {
      return RegularFile.sizeSync(path) ?? 0
    } catch {
      return 0
    }
  }
  const there = pieces(paths.dir).filter((p) => p < cursor.piece)
  const head = sizeOf(paths.logPath)
  const first = there[0] ?? cursor.piece
  const skipped = first > 0 ? Buffer.byteLength(marker(first * (Math.floor(head / 4) + 1))) : 0
  return there.reduce((n, p) => n + sizeOf(piecePath(paths.dir, p)), head + skipped) + cursor.offset
}
