// Crafted files in a job folder (class 7 of the trust boundaries, and damaged folders): a FIFO, a device, a folder
// or a link in place of events.jsonl, an empty or missing log, an unreadable folder, a symlinked output.log. Readers
// never hang, never follow a link, show no such folder as a job, warn once per folder, and `rm --force` removes it.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Ids from "../../core/ids.ts"
import { BIN, jobs, json, tempDir } from "../support/cli.ts"
import { jobDir, scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

/** `jobs ARGS` with a deadline: a reader that hangs on a FIFO fails the test instead of blocking it for ever. */
const bounded = (home: string, args: ReadonlyArray<string>, prefix: ReadonlyArray<string> = []) => {
  const argv = [...prefix, process.execPath, "--", BIN, ...args]
  const r = ChildProcess.spawnSync(argv[0]!, argv.slice(1), {
    env: { ...process.env, JOBS_HOME: home, NODE_EXTRA_CA_CERTS: undefined },
    cwd: Path.dirname(home),
    encoding: "utf8",
    timeout: 30_000,
    // SIGKILL: the CLI handles TERM by interrupting its fiber, which a read blocked on a FIFO never reaches
    killSignal: "SIGKILL",
    input: ""
  })
  if (r.signal !== null) throw new Error(`jobs ${args.join(" ")} did not return within 30 s (${r.signal})`)
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/** An id from a minute ago: a folder that young would still count as being created by a submit. */
const oldId = () => Ids.make(Date.now() - 60_000 - Math.floor(Math.random() * 1000))

const SECRET = "the contents of a file outside the home\n"

describe("crafted files in a job folder", () => {
  it("lists, counts and removes around damaged folders: one warning each, never a row, never a hang", () => {
    const home = tmp.home()
    const good = json(jobs(["run", "--json", "--", "echo", "fine"], { home })).id as string
    expect(jobs(["wait", good], { home }).code).toBe(0)
    const outside = Path.join(tmp.dir(), "outside.jsonl")
    Fs.copyFileSync(Path.join(jobDir(home, good), "events.jsonl"), outside)
    const damaged: Record<string, [string, (dir: string) => void]> = {
      fifo: ["not a regular file", (d) => ChildProcess.execFileSync("mkfifo", [Path.join(d, "events.jsonl")])],
      device: ["not a regular file", (d) => Fs.symlinkSync("/dev/zero", Path.join(d, "events.jsonl"))],
      link: ["not a regular file", (d) => Fs.symlinkSync(outside, Path.join(d, "events.jsonl"))],
      folder: ["is a directory", (d) => Fs.mkdirSync(Path.join(d, "events.jsonl"))],
      empty: ["it is empty", (d) => Fs.writeFileSync(Path.join(d, "events.jsonl"), "")],
      missing: ["no such file", (d) => Fs.writeFileSync(Path.join(d, "env"), "")]
    }
    const ids: Record<string, string> = {}
    for (const [kind, [, make]] of Object.entries(damaged)) {
      const id = oldId()
      ids[kind] = id
      Fs.mkdirSync(jobDir(home, id), { mode: 0o700 })
      make(jobDir(home, id))
    }

    const list = bounded(home, ["list", "--all"])
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout.trim().split("\n")).toHaveLength(2)
    expect(list.stdout).toMatch(/completed \[0\]/)
    expect(list.stdout).not.toMatch(/pending/)
    const warnings = list.stderr.trim().split("\n")
    expect(warnings).toHaveLength(Object.keys(damaged).length)
    for (const [kind, [reason]] of Object.entries(damaged)) {
      expect(warnings).toContain(`jobs: warning: skipped ${ids[kind]}: cannot read events.jsonl: ${reason}`)
    }

    const listed = bounded(home, ["list", "--all", "--json", "--status", "pending,completed"])
    expect(JSON.parse(listed.stdout).map((j: { id: string }) => j.id)).toEqual([good])
    const summary = bounded(home, ["status", "--json"])
    expect(JSON.parse(summary.stdout)).toMatchObject({ total: 1, counts: { pending: 0, completed: 1 } })

    // by its id: a one-line refusal that says what to do, for every command that reads a job
    for (const command of [["status"], ["wait"], ["logs"], ["events"], ["stop"], ["retry"], ["rm"]]) {
      const r = bounded(home, [...command, ids.fifo!])
      expect(r.code, `${command}: ${r.stderr}`).not.toBe(0)
      expect(r.stderr.trim()).toMatch(/cannot read events\.jsonl: not a regular file/)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
    }

    const rm = bounded(home, ["rm", "--force", ...Object.values(ids)])
    expect(rm.code, rm.stderr).toBe(0)
    for (const id of Object.values(ids)) expect(Fs.existsSync(jobDir(home, id))).toBe(false)
    expect(Fs.readFileSync(outside, "utf8")).toMatch(/"Submitted"/)
    const after = bounded(home, ["list", "--all"])
    expect([after.code, after.stderr]).toEqual([0, ""])
  })

  it("reports an unreadable folder as permission denied, and rm --force removes it", () => {
    const root = tempDir()
    try {
      Fs.chmodSync(root, 0o755)
      const home = Path.join(root, "home")
      const id = oldId()
      Fs.mkdirSync(Path.join(jobDir(home, id), "inner"), { recursive: true })
      Fs.writeFileSync(Path.join(jobDir(home, id), "events.jsonl"), "{}\n")
      // root reads whatever the mode says: the reader then runs as nobody, who owns the home
      const asUser = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
      if (asUser.length > 0) ChildProcess.execFileSync("chown", ["-R", "65534:65534", home])
      Fs.chmodSync(jobDir(home, id), 0)
      const list = bounded(home, ["list", "--all"], asUser)
      expect(list.code, list.stderr).toBe(0)
      expect(list.stderr).toBe(`jobs: warning: skipped ${id}: cannot read events.jsonl: permission denied\nno jobs\n`)
      expect(list.stdout).not.toMatch(/pending/)
      const rm = bounded(home, ["rm", "--force", id], asUser)
      expect(rm.code, rm.stderr).toBe(0)
      expect(Fs.existsSync(jobDir(home, id))).toBe(false)
    } finally {
      Fs.rmSync(root, { recursive: true, force: true })
    }
  })

  it("never follows a symlinked output.log (logs, logs --tail) nor reads a FIFO in its place", () => {
    const home = tmp.home()
    const id = json(jobs(["run", "--json", "--", "echo", "fine"], { home })).id as string
    expect(jobs(["wait", id], { home }).code).toBe(0)
    const secret = Path.join(tmp.dir(), "secret.txt")
    Fs.writeFileSync(secret, SECRET)
    const log = Path.join(jobDir(home, id), "output.log")
    Fs.rmSync(log)
    Fs.symlinkSync(secret, log)
    for (const args of [
      ["logs", id],
      ["logs", "--tail", "5", id]
    ]) {
      const r = bounded(home, args)
      expect(r.code).toBe(1)
      expect(r.stdout).not.toContain("outside the home")
      expect(r.stderr.trim()).toBe(`Cannot read "${log}": not a regular file`)
    }
    // the job itself stays listed: only its output is refused
    expect(bounded(home, ["list", "--all"]).stdout).toMatch(/completed \[0\]/)
    Fs.rmSync(log)
    ChildProcess.execFileSync("mkfifo", [log])
    const fifo = bounded(home, ["logs", id])
    expect([fifo.code, fifo.stderr.trim()]).toEqual([1, `Cannot read "${log}": not a regular file`])
    expect(bounded(home, ["status", id, "--json"]).code).toBe(0)
  })
})
