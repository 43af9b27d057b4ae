// The one quoting of values that enter a shell: random byte strings (quotes, newlines, $, `, \, bytes that are not
// UTF-8; everything but NUL) go through a real `sh` and come out byte for byte.
import * as ChildProcess from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Shell from "../../core/shell.ts"

/** What `sh` prints for a script given as raw bytes on its stdin. */
const printed = (script: Buffer): Buffer => {
  const r = ChildProcess.spawnSync("sh", ["-s"], { input: script, env: { PATH: process.env.PATH, HOME: "/h" } })
  if (r.status !== 0) throw new Error(`sh failed (${r.status}): ${r.stderr.toString()}`)
  return r.stdout
}

const nastyBytes = fc.uint8Array({ minLength: 0, maxLength: 64 }).map((bytes) => bytes.filter((b) => b !== 0))
// weighted towards the bytes a shell treats specially
const specials = fc
  .array(fc.constantFrom(..."'\"$`\\\n;|&*?~#(){}[]<> \t!%=", "\u00e9", "\u{1F600}", "\xff", "\x80"), {
    maxLength: 24
  })
  .map((parts) => parts.join(""))

describe("Shell.quote", () => {
  it("round-trips random bytes (as latin1 text: one char per byte) through a real sh", () => {
    fc.assert(
      fc.property(nastyBytes, (bytes) => {
        const value = Buffer.from(bytes).toString("latin1")
        const script = Buffer.from(`printf %s ${Shell.quote(value)}`, "latin1")
        expect(printed(script).equals(Buffer.from(bytes))).toBe(true)
      }),
      { numRuns: 150 }
    )
  })
  it("round-trips shell metacharacters and Unicode as UTF-8, and stays one word", () => {
    fc.assert(
      fc.property(specials, fc.string(), (a, b) => {
        const value = a + b
        const script = Buffer.from(`set -- ${Shell.quote(value)} end; printf '%s|%s' "$#" "$1"`, "utf8")
        expect(printed(script).toString("utf8")).toBe(`2|${value}`)
      }),
      { numRuns: 150 }
    )
  })
})

describe("Shell.homePath", () => {
  it("expands only HOME: the rest of a remote home is literal", () => {
    fc.assert(
      fc.property(specials, (rest) => {
        const script = Buffer.from(`printf %s ${Shell.homePath(`~/${rest}`, "jobs")}`, "utf8")
        expect(printed(script).toString("utf8")).toBe(`/h${`~/${rest}`.replace(/\/+$/, "").slice(1)}/jobs`)
        const absolute = Buffer.from(`printf %s ${Shell.homePath(`/x${rest}`)}`, "utf8")
        expect(printed(absolute).toString("utf8")).toBe(`/x${rest}`)
      }),
      { numRuns: 100 }
    )
  })
})
