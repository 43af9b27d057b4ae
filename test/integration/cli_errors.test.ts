// Errors as a user meets them: one line on stderr, the right exit code, and with --json a document on stdout that a
// third-party validator (ajv) accepts against the published error schema; refusals that can be known at submit;
// the job a command picks when given none; references that match too many jobs or too few characters.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Ajv } from "ajv"
import { afterAll, describe, expect, it } from "vitest"
import { jobs, jobsAsync, json } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const errorSchema = JSON.parse(
  Fs.readFileSync(Path.resolve(import.meta.dirname, "../../cli/schemas/error.schema.json"), "utf8")
)
const validError = new Ajv({ strict: false }).compile(errorSchema)

describe("--json errors", () => {
  it("are one JSON document on stdout, one line on stderr, and the exit code, on every kind of failure", async () => {
    const home = tmp.home()
    const afile = Path.join(tmp.dir(), "a-file")
    Fs.writeFileSync(afile, "x")
    const cases: Array<[ReadonlyArray<string>, number, string, string?]> = [
      [["status", "nope1234"], 1, "job-not-found"],
      [["logs", "nope1234"], 1, "job-not-found"],
      [["lst"], 2, "usage"],
      [["run", "--nmae", "x", "--", "true"], 2, "usage"],
      [["run", "--", "no-such-command-here"], 2, "invalid-input"],
      [["run", "--priority", "3", "--", "true"], 2, "invalid-input"],
      [["run", "--env-file", "/no/such/file", "--", "true"], 2, "invalid-input"],
      [["group", "pause", "nope"], 2, "invalid-input"],
      [["logs"], 2, "invalid-input"],
      [["list"], 1, "storage-error", afile],
      [["stop", "--al"], 2, "usage"]
    ]
    const results = await Promise.all(
      cases.map(([args, , , otherHome]) => jobsAsync(["--json", ...args], { home: otherHome ?? home, cwd: tmp.dir() }))
    )
    for (const [n, [args, code, kind]] of cases.entries()) {
      const r = results[n]!
      const what = `${args.join(" ")}: ${r.stdout} ${r.stderr}`
      expect(r.code, what).toBe(code)
      expect(r.stderr.trimEnd().split("\n"), what).toHaveLength(1)
      const doc = json<{ error: { code: string; message: string } }>(r)
      expect(validError(doc), `${what} ${JSON.stringify(validError.errors)}`).toBe(true)
      expect(doc.error.code, what).toBe(kind)
      expect(doc.error.message, what).toBe(r.stderr.trimEnd())
    }
    expect(json<{ version: string }>(jobs(["--version", "--json"])).version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it("say what is wrong in words: a missing file, a home that is a file, an unknown group, a lone --priority", () => {
    const home = tmp.home()
    const afile = Path.join(tmp.dir(), "a-file")
    Fs.writeFileSync(afile, "x")
    expect(jobs(["run", "--env-file", "/no/such/file", "--", "true"], { home }).stderr).toBe(
      'Cannot read env file "/no/such/file": no such file\n'
    )
    for (const args of [["list"], ["status"], ["run", "--", "true"]]) {
      const r = jobs(args, { home: afile })
      expect(r.code, args.join(" ")).not.toBe(0)
      expect(r.stderr, args.join(" ")).toMatch(/not a directory\n$/)
    }
    expect(jobs(["run", "--priority", "3", "--", "true"], { home }).stderr).toMatch(/without --group/)
    expect(jobs(["group", "set", "gpu", "--parallel", "1"], { home }).code).toBe(0)
    const typo = jobs(["group", "pause", "gppu"], { home })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toBe('Cannot pause group "gppu": no such group (did you mean "gpu"?)\n')
    // the typo made no group
    expect(jobs(["group", "ls"], { home }).stdout).not.toContain("gppu")
    expect(json<{ paused: boolean }>(jobs(["group", "pause", "gpu", "--json"], { home })).paused).toBe(true)
    expect(jobs(["group", "rm", "gpu"], { home }).code).toBe(0)
    expect(jobs(["group", "ls"], { home }).stdout).not.toMatch(/^gpu /m)
  })
})

describe("a command given no job", () => {
  it("takes the newest job of this project and says which on stderr (logs, wait)", () => {
    const home = tmp.home()
    const project = tmp.dir()
    const other = tmp.dir()
    expect(jobs(["run", "--name", "older", "--", "echo", "first"], { home, cwd: project }).code).toBe(0)
    const newest = json<{ shortId: string }>(
      jobs(["run", "--json", "--name", "newest", "--", "echo", "second"], { home, cwd: project })
    )
    expect(jobs(["run", "--", "echo", "elsewhere"], { home, cwd: other }).code).toBe(0)
    const waited = jobs(["wait"], { home, cwd: project })
    expect(waited.code).toBe(0)
    expect(waited.stderr).toContain(`wait newest (${newest.shortId}), the newest job of this project`)
    const logs = jobs(["logs"], { home, cwd: project })
    expect(logs.stdout).toBe("second\n")
    expect(logs.stderr).toContain(`newest (${newest.shortId})`)
    const empty = jobs(["logs"], { home, cwd: tmp.dir() })
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/^Cannot pick a job for jobs logs: this project has none/)
  })
})

describe("a reference", () => {
  it("that matches many jobs lists five of them, newest first, and how many more; one too short says so", async () => {
    const home = tmp.home()
    const ids: Array<string> = []
    for (let i = 0; i < 8; i++) {
      const r = await jobsAsync(["run", "--json", "--name", `n${i}`, "--", "true"], { home })
      ids.push(json<{ id: string }>(r).id)
    }
    // the ids share their time prefix: the first 4 characters name all eight
    const prefix = ids[0]!.slice(0, 4)
    expect(ids.every((id) => id.startsWith(prefix))).toBe(true)
    const r = jobs(["status", prefix], { home })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/it matches 8 jobs \(n7 \(\w{8}\), n6 .*, and 3 more\)\n$/)
    const short = jobs(["status", ids[0]!.slice(0, 2)], { home })
    expect(short.stderr).toMatch(/a prefix needs at least 4 characters/)
  })
})
