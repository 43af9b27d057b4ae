// The one way a download lands locally, with real rsync from a local source: a link on this side in the path the
// remote named is refused, a link at the place is replaced (never written through), links that leave the copy go.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as SafeDownload from "../../adapters/safe_download.ts"

const dirs: Array<string> = []
const dir = (): string => {
  const d = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobs-safe-download-"))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) Fs.rmSync(d, { recursive: true, force: true })
})

/** A remote work dir: a/b/file, a/b/up -> ../../.. and a/b/abs -> /etc/passwd. */
const remote = (): string => {
  const work = dir()
  Fs.mkdirSync(Path.join(work, "a", "b"), { recursive: true })
  Fs.writeFileSync(Path.join(work, "a", "b", "file"), "remote\n")
  Fs.symlinkSync("../../..", Path.join(work, "a", "b", "up"))
  Fs.symlinkSync("/etc/passwd", Path.join(work, "a", "b", "abs"))
  Fs.symlinkSync(".", Path.join(work, "a", "b", "dot"))
  Fs.symlinkSync("dot/..", Path.join(work, "a", "b", "sneaky"))
  return work
}
const fetch = (source: string, root: string, under?: string) =>
  SafeDownload.fetch({ shell: "false", env: process.env, source, root, ...(under === undefined ? {} : { under }) })

describe("SafeDownload.fetch", () => {
  it("refuses a link on this side in the folder the remote path names, and writes nothing through it", () => {
    const work = remote()
    const root = dir()
    const outside = dir()
    Fs.symlinkSync(outside, Path.join(root, "a"))
    expect(fetch(Path.join(work, "a", "b"), root, "a")).toBe('"a" is a symbolic link on this side')
    expect(Fs.readdirSync(outside)).toEqual([])
  })

  it("replaces a link at the place itself instead of writing through it, and keeps only links inside the copy", () => {
    const work = remote()
    const root = dir()
    const outside = dir()
    Fs.mkdirSync(Path.join(root, "a"))
    Fs.symlinkSync(outside, Path.join(root, "a", "b"))
    expect(fetch(Path.join(work, "a", "b"), root, "a")).toBeUndefined()
    expect(Fs.readdirSync(outside)).toEqual([])
    expect(Fs.lstatSync(Path.join(root, "a", "b")).isDirectory()).toBe(true)
    expect(Fs.readdirSync(Path.join(root, "a", "b")).sort()).toEqual(["dot", "file"])
    expect(Fs.readdirSync(root)).toEqual(["a"])
  })

  it("merges a whole work dir into an existing folder with the same safe subset", () => {
    const work = remote()
    const root = dir()
    Fs.mkdirSync(Path.join(root, "a", "b"), { recursive: true })
    Fs.writeFileSync(Path.join(root, "a", "b", "mine"), "local\n")
    expect(fetch(`${work}/`, root)).toBeUndefined()
    expect(Fs.readdirSync(Path.join(root, "a", "b")).sort()).toEqual(["dot", "file", "mine"])
    expect(Fs.readFileSync(Path.join(root, "a", "b", "file"), "utf8")).toBe("remote\n")
  })
})
