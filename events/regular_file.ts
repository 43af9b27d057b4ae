// Reading the files of a job folder safely: only a regular file is read, never through a symbolic link, and never
// with a wait on a FIFO or a device. Anyone who can write a job's folder (the job's own code can) could plant one.

import * as Fs from "node:fs"
import * as Data from "effect/Data"

/** A file that is there but must not or cannot be read: a link, a FIFO, a device, a folder, or no permission. */
export class Unreadable extends Data.TaggedError("Unreadable")<{
  readonly path: string
  /** In words: "not a regular file", "is a directory", "permission denied", ... */
  readonly reason: string
}> {
  override get message() {
    return `Cannot read "${this.path}": ${this.reason}`
  }
}

const READ_FLAGS = Fs.constants.O_RDONLY | Fs.constants.O_NOFOLLOW | Fs.constants.O_NONBLOCK

/** Why an open or a read failed, in words (errno codes are for programmers). */
export const reasonOf = (cause: unknown): string => {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case "ELOOP":
    case "ENXIO":
    case "ENODEV":
      return "not a regular file"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory"
    case "ENOENT":
      return "no such file"
    case "ENOTDIR":
      return "not in a folder"
    case "ENOSPC":
      return "no space left on device"
    case "EROFS":
      return "read-only file system"
    case "EEXIST":
      return "already exists"
    default:
      return cause instanceof Error ? (code ?? cause.message) : String(cause)
  }
}

/**
 * Opens a file for reading if (and only if) it is a regular file: opened with O_NOFOLLOW and O_NONBLOCK, then
 * checked with fstat. Undefined when there is no such file; throws `Unreadable` for anything else that is wrong.
 *
 * @example
 * const fd = RegularFile.openSync(logPath)
 * if (fd !== undefined) try { ... } finally { Fs.closeSync(fd) }
 */
export const openSync = (path: string): number | undefined => {
  let fd: number
  try {
    fd = Fs.openSync(path, READ_FLAGS)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw new Unreadable({ path, reason: reasonOf(e) })
  }
  let stat: Fs.Stats
  try {
    stat = Fs.fstatSync(fd)
  } catch (e) {
    Fs.closeSync(fd)
    throw new Unreadable({ path, reason: reasonOf(e) })
  }
  if (!stat.isFile()) {
    Fs.closeSync(fd)
    throw new Unreadable({ path, reason: stat.isDirectory() ? "is a directory" : "not a regular file" })
  }
  return fd
}

const withFile = <A>(path: string, absent: A, f: (fd: number) => A): A => {
  const fd = openSync(path)
  if (fd === undefined) return absent
  try {
    return f(fd)
  } catch (e) {
    throw e instanceof Unreadable ? e : new Unreadable({ path, reason: reasonOf(e) })
  } finally {
    Fs.closeSync(fd)
  }
}

const readRange = (fd: number, from: number, to: number): Buffer => {
  if (to <= from) return Buffer.alloc(0)
  const buffer = Buffer.allocUnsafe(to - from)
  let read = 0
  while (read < buffer.length) {
    const n = Fs.readSync(fd, buffer, read, buffer.length - read, from + read)
    if (n === 0) break
    read += n
  }
  return buffer.subarray(0, read)
}

/**
 * The bytes of a regular file from `offset` (at most `maxBytes` of them); undefined when it does not exist.
 * Throws `Unreadable` when it is not a regular file or cannot be read.
 */
export const readSync = (path: string, offset = 0, maxBytes = Number.POSITIVE_INFINITY): Buffer | undefined =>
  withFile(path, undefined, (fd) => {
    const size = Fs.fstatSync(fd).size
    return readRange(fd, offset, Math.min(size, offset + maxBytes))
  })

/** The last `bytes` bytes of a regular file; undefined when it does not exist. Throws `Unreadable`. */
export const readTailSync = (path: string, bytes: number): Buffer | undefined =>
  withFile(path, undefined, (fd) => {
    const size = Fs.fstatSync(fd).size
    return readRange(fd, Math.max(0, size - bytes), size)
  })

/** Reads into `buffer` from `position`; the byte count, 0 when the file does not exist. Throws `Unreadable`. */
export const readIntoSync = (path: string, buffer: Uint8Array, position: number): number =>
  withFile(path, 0, (fd) => Fs.readSync(fd, buffer, 0, buffer.length, position))

/** The size of a regular file; undefined when it does not exist. Throws `Unreadable`. */
export const sizeSync = (path: string): number | undefined => withFile(path, undefined, (fd) => Fs.fstatSync(fd).size)

/** A regular file's text, or `fallback` when it is missing or is not a regular file that can be read. */
export const readTextOr = (path: string, fallback: string): string => {
  try {
    return readSync(path)?.toString("utf8") ?? fallback
  } catch {
    return fallback
  }
}
