// The latest output of a capped remote job brought home: past --max-log-size the worker's supervisor keeps the head in
// output.log (mirrored like any output) and the latest output in output.tail.N pieces beside it, which this copies
// into the local job folder so that every reader sees the same one stream as for a local job. What a worker sends
// is untrusted: only names output.tail.<digits> (never a link there), at most the pieces a capped log keeps, each at
// most a quarter of the limit plus one byte, written here without following a link and never into a FIFO.

import * as Fs from "node:fs"
import * as Path from "node:path"
import type * as Home from "../core/home.ts"
import type * as JobState from "../core/job_state.ts"
import { RegularFile } from "../events/mod.ts"

/** The pieces a capped log keeps: the last two whole ones and the one growing. */
const KEPT = 3

/** The size of each piece for a limit (the supervisor's `_jchunk`). */
export const pieceSize = (maxLogBytes: number): number => Math.floor(Math.max(1, Math.floor(maxLogBytes)) / 4) + 1

/** The pieces at home: number and size (regular files only). */
const localPieces = (dir: string): Map<number, number> => {
  const found = new Map<number, number>()
  let names: Array<string> = []
  try {
    names = Fs.readdirSync(dir)
  } catch {
    return found
  }
  for (const name of names) {
    const m = /^output\.tail\.(\d{1,9})$/.exec(name)
    if (m === null) continue
    try {
      const size = RegularFile.sizeSync(Path.join(dir, name))
      if (size !== undefined) found.set(Number(m[1]), size)
    } catch {
      // not a regular file: left alone, never read or written
    }
  }
  return found
}

/**
 * Shell for the worker, in the job's folder: a line "N SIZE FROM" for each of the last pieces there (regular files,
 * not links; SIZE bounded by the piece size, FROM the size already at home), a line ".", then the bytes of each
 * piece from FROM to SIZE.
 */
export const command = (jobDir: string, paths: Home.JobPaths, maxLogBytes: number): string => {
  const chunk = pieceSize(maxLogBytes)
  const have = [...localPieces(Path.dirname(paths.logPath))].map(([n, size]) => `${n}) echo ${size} ;;`).join(" ")
  return (
    `cd ${jobDir} 2>/dev/null || { echo .; exit 0; }; _from() { case $1 in ${have} *) echo 0 ;; esac; }; ` +
    `_n=$(for f in output.tail.*; do n=\${f#output.tail.}; case $n in '' | *[!0-9]*) continue ;; esac; ` +
    `[ -f "$f" ] && [ ! -h "$f" ] && echo "$n"; done | sort -n | tail -n ${KEPT}); _l=; ` +
    `for n in $_n; do s=$(($(wc -c < output.tail.$n 2>/dev/null || echo 0))); [ $s -le ${chunk} ] || s=${chunk}; ` +
    'f=$(_from $n); [ $f -le $s ] || f=$s; _l="$_l $n:$s:$f"; echo "$n $s $f"; done; echo .; ' +
    `for e in $_l; do n=\${e%%:*}; r=\${e#*:}; s=\${r%%:*}; f=\${r#*:}; ` +
    "tail -c +$((f + 1)) output.tail.$n 2>/dev/null | head -c $((s - f)); done"
  )
}

/** Writes bytes at an offset of a piece at home: never through a link, never into a FIFO. */
const writeAt = (path: string, offset: number, data: Buffer) => {
  const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = Fs.constants
  const fd = Fs.openSync(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
  try {
    if (!Fs.fstatSync(fd).isFile()) throw new Error(`"${path}" is not a regular file`)
    let done = 0
    while (done < data.length) done += Fs.writeSync(fd, data, done, data.length - done, offset + done)
  } finally {
    Fs.closeSync(fd)
  }
}

/**
 * Takes the worker's answer to `command` home: the pieces' new bytes written in order, and the pieces the worker no
 * longer keeps removed here. An answer that is not what it announced (a piece too large or too many, bytes missing
 * or extra: a connection cut, or a worker that lies) changes nothing; false then.
 */
export const apply = (paths: Home.JobPaths, maxLogBytes: number, reply: Buffer): boolean => {
  const chunk = pieceSize(maxLogBytes)
  const dir = Path.dirname(paths.logPath)
  const pieces: Array<{ readonly n: number; readonly size: number; readonly from: number }> = []
  let at = 0
  for (;;) {
    const nl = reply.indexOf(10, at)
    if (nl < 0 || nl - at > 64) return false
    const line = reply.subarray(at, nl).toString("latin1")
    at = nl + 1
    if (line === ".") break
    const m = /^(\d{1,9}) (\d{1,15}) (\d{1,15})$/.exec(line)
    if (m === null || pieces.length >= KEPT) return false
    const piece = { n: Number(m[1]), size: Number(m[2]), from: Number(m[3]) }
    if (piece.size > chunk || piece.from > piece.size || (pieces.at(-1)?.n ?? -1) >= piece.n) return false
    pieces.push(piece)
  }
  const total = pieces.reduce((sum, p) => sum + p.size - p.from, 0)
  if (reply.length - at !== total) return false
  const have = localPieces(dir)
  for (const p of pieces) {
    const data = reply.subarray(at, at + p.size - p.from)
    at += data.length
    // the bytes from where this side stands (the worker was told; a piece that changed size meanwhile waits)
    if ((have.get(p.n) ?? 0) !== p.from) continue
    try {
      writeAt(Path.join(dir, `output.tail.${p.n}`), p.from, data)
    } catch {
      // a link or a FIFO in its place here: that piece is not written, the others are
    }
  }
  // the pieces the worker has dropped are dropped here too: a reader behind them gets the marker
  const oldest = pieces[0]?.n
  if (oldest !== undefined) {
    for (const n of localPieces(dir).keys()) if (n < oldest) Fs.rmSync(Path.join(dir, `output.tail.${n}`))
  }
  return true
}

/** The job's output limit (--max-log-size): only then are pieces asked for. */
export const limitOf = (state: JobState.JobState): number | undefined => state.spec?.maxLogBytes ?? undefined

/** The longest answer to `command` for a limit: the header lines and every piece whole. */
export const maxReply = (maxLogBytes: number): number => KEPT * (pieceSize(maxLogBytes) + 64) + 2
