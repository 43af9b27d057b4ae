// Copies files from a worker or an instance into a local destination so that nothing lands outside it, whatever
// links the remote side made: the copy goes to a private folder first, links that leave it are dropped, and the
// result is moved into place one level at a time without following a link.

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Workers from "../core/workers.ts"
import * as RegularFile from "../events/regular_file.ts"

export interface Request {
  /** rsync's remote shell (`-e`), for example `jobs __ssh WORKER`. */
  readonly shell: string
  /** The environment rsync runs in. */
  readonly env: NodeJS.ProcessEnv
  /** `worker:PATH`; ending in `/`: its contents are merged into the folder, else the entry itself is copied. */
  readonly source: string
  /** The destination the user chose (trusted as it is, even when it is a link); created when missing. */
  readonly root: string
  /** A folder under `root` named by the remote side (`a` for `--download a/b`): none of it may be a link. */
  readonly under?: string
  /** The name the copied entry takes (default: the source's own name); not used for contents. */
  readonly name?: string
}

const isInside = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`)

const lstat = (path: string): Fs.Stats | undefined => {
  try {
    return Fs.lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

/** Makes each level of `under` below `root` a real folder; the why when one is a link or not a folder. */
const descend = (root: string, under: string): string | undefined => {
  let at = root
  const walked: Array<string> = []
  for (const part of under.split("/").filter((p) => p !== "" && p !== ".")) {
    walked.push(part)
    at = Path.join(at, part)
    const stat = lstat(at)
    if (stat === undefined) Fs.mkdirSync(at)
    else if (stat.isSymbolicLink()) return `"${walked.join("/")}" is a symbolic link on this side`
    else if (!stat.isDirectory()) return `"${walked.join("/")}" is not a folder on this side`
  }
  return undefined
}

/** Removes every link under `top` that is absolute or does not resolve inside it (dangling ones included). */
const dropLeavingLinks = (top: string, boundary: string): void => {
  const realBoundary = Fs.realpathSync(boundary)
  const walk = (dir: string): void => {
    for (const entry of Fs.readdirSync(dir, { withFileTypes: true })) {
      const path = Path.join(dir, entry.name)
      if (entry.isSymbolicLink()) {
        let keep = false
        try {
          keep = !Path.isAbsolute(Fs.readlinkSync(path)) && isInside(Fs.realpathSync(path), realBoundary)
        } catch {
          keep = false
        }
        if (!keep) Fs.unlinkSync(path)
      } else if (entry.isDirectory()) walk(path)
    }
  }
  walk(top)
}

/** Moves each entry of `from` into `into` (a real folder), merging folders; never follows a link in `into`. */
const place = (from: string, into: string, shown: string): string | undefined => {
  for (const entry of Fs.readdirSync(from, { withFileTypes: true })) {
    const source = Path.join(from, entry.name)
    const target = Path.join(into, entry.name)
    const there = lstat(target)
    if (there === undefined) Fs.renameSync(source, target)
    else if (there.isDirectory() && entry.isDirectory()) {
      const why = place(source, target, shown === "" ? entry.name : `${shown}/${entry.name}`)
      if (why !== undefined) return why
    } else if (there.isDirectory()) {
      return `"${shown === "" ? entry.name : `${shown}/${entry.name}`}" is a folder on this side`
    } else {
      // a file or a link on this side: replaced (a link is removed, never written through)
      Fs.unlinkSync(target)
      Fs.renameSync(source, target)
    }
  }
  return undefined
}

/**
 * Copies `source` into `root` (under `under`, as `name`), or says why not. rsync skips links that leave the copied
 * tree (`--safe-links`) and keeps no owner, group, special bit or device of the remote side.
 *
 * @example
 * const why = SafeDownload.fetch({ shell, env, source: "worker:/w/workdirs/ID/a/b", root: cwd, under: "a" })
 */
export const fetch = (request: Request): string | undefined => {
  const root = Path.resolve(request.root)
  try {
    Fs.mkdirSync(root, { recursive: true })
  } catch (e) {
    return `cannot create "${request.root}" (${RegularFile.reasonOf(e)})`
  }
  const under = request.under ?? ""
  const refused = descend(root, under)
  if (refused !== undefined) return refused
  const folder = Path.join(root, under)
  const contents = request.source.endsWith("/")
  const temp = Fs.mkdtempSync(Path.join(folder, ".jobs-download-"))
  try {
    Fs.chmodSync(temp, 0o700)
    const r = ChildProcess.spawnSync(
      "rsync",
      ["-rlt", "--safe-links", "--no-devices", "--no-specials", "-e", request.shell, request.source, `${temp}/`],
      { encoding: "utf8", env: request.env }
    )
    if (r.error !== undefined) return `rsync could not run: ${r.error.message} (apt-get install rsync)`
    if (r.status !== 0) {
      const stderr = r.stderr ?? ""
      return (
        Workers.rsyncFailure(stderr.split("\n").find((l) => l.includes("No such file")) ?? "") ??
        Workers.rsyncFailure(stderr) ??
        `rsync exit ${r.status}`
      )
    }
    const copied = Fs.readdirSync(temp)
    if (!contents) {
      if (copied.length === 0) return "it is a symbolic link on the remote side"
      if (request.name !== undefined && request.name !== copied[0])
        Fs.renameSync(Path.join(temp, copied[0]!), Path.join(temp, request.name))
    }
    if (contents) dropLeavingLinks(temp, temp)
    else {
      // the entry itself: a link is dropped (it could only lead elsewhere), a folder keeps the links inside it
      const top = Path.join(temp, Fs.readdirSync(temp)[0]!)
      const stat = Fs.lstatSync(top)
      if (stat.isSymbolicLink()) {
        Fs.unlinkSync(top)
        return "it is a symbolic link on the remote side"
      }
      if (stat.isDirectory()) dropLeavingLinks(top, top)
    }
    const why = place(temp, folder, under)
    if (why !== undefined) return why
    const realRoot = Fs.realpathSync(root)
    for (const entry of copied) {
      const landed = Path.join(folder, contents ? entry : (request.name ?? entry))
      if (lstat(landed) === undefined) continue
      let real: string
      try {
        real = Fs.realpathSync(landed)
      } catch {
        Fs.unlinkSync(landed)
        continue
      }
      if (!isInside(real, realRoot)) {
        if (lstat(landed)?.isSymbolicLink()) Fs.unlinkSync(landed)
        return `"${entry}" would land outside "${request.root}"`
      }
    }
    return undefined
  } catch (e) {
    return RegularFile.reasonOf(e)
  } finally {
    Fs.rmSync(temp, { recursive: true, force: true })
  }
}
