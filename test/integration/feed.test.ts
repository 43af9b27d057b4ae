// The all-jobs feed as scripts use it: the README's followers in examples/feed/ (bash with jq, Python with the
// standard library) run against real jobs — jobs started after the follower, an empty home, a supervisor killed with
// kill -9, a restart that resumes from the saved cursor — and `jobs events --all --follow` under `ulimit -n 256`
// with 300 jobs.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Ajv } from "ajv"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import * as Ids from "../../core/ids.ts"
import { BIN, eventually, jobs, jobsAsync, json } from "../support/cli.ts"
import { readEvents, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const EXAMPLES = Path.resolve(import.meta.dirname, "../../examples/feed")

const have = (tool: string) => ChildProcess.spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0
const missing = ["bash", "jq", "python3"].filter((t) => !have(t))
if (missing.length > 0) {
  if (process.env.CI === "true") throw new Error(`the feed examples need ${missing.join(", ")}`)
  console.warn(`SKIPPING the feed examples: ${missing.join(", ")} not installed`)
}

/** A `jobs` on PATH that runs the built bin, as an installed one would. */
const binDir = (() => {
  const dir = tmp.dir()
  Fs.writeFileSync(Path.join(dir, "jobs"), `#!/bin/sh\nexec "${process.execPath}" -- "${BIN}" "$@"\n`, { mode: 0o755 })
  return dir
})()

interface Follower {
  readonly lines: () => Array<string>
  readonly stderr: () => string
  readonly running: () => boolean
  /** Sends a signal to the follower's whole process group and waits until it has exited. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
  readonly waitFor: (what: string, test: (line: string) => boolean, timeoutMs?: number) => Promise<string>
}

const followers: Array<Follower> = []
afterEach(async () => {
  for (const f of followers.splice(0)) await f.stop("SIGKILL")
})

/** Starts a follower in its own process group, in a home. */
const follow = (argv: ReadonlyArray<string>, home: string, own = true): Follower => {
  const child = ChildProcess.spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, JOBS_HOME: home, PATH: `${binDir}:${process.env.PATH}`, NODE_EXTRA_CA_CERTS: undefined },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  let out = ""
  let err = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d))
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  const lines = () => out.split("\n").slice(0, -1)
  const follower: Follower = {
    lines,
    stderr: () => err,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: async (signal = "SIGTERM") => {
      if (follower.running()) {
        try {
          // the whole group, as Ctrl-C in a terminal does
          process.kill(-child.pid!, signal)
        } catch {
          // gone already
        }
        await exited
      }
      // nothing of it may be left: its `jobs events` goes with it
      await eventually(() => (groupAlive(child.pid!) ? undefined : true), 15_000, "the follower's processes to end")
    },
    waitFor: async (what, test, timeoutMs = 30_000) =>
      eventually(
        () => {
          if (!follower.running()) throw new Error(`the follower ended: ${err}`)
          return lines().find(test)
        },
        timeoutMs,
        `${what} (stderr: ${err})`
      )
  }
  if (own) followers.push(follower)
  return follower
}

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const run = (home: string, argv: ReadonlyArray<string>) => {
  const r = jobs(["run", "--json", "--", ...argv], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<{ id: string; shortId: string }>(r)
}

/**
 * Waits until a follower (which starts at "now") is following: jobs are run until one of them shows up in its output.
 * Returns their ids, to leave out of what is compared.
 */
const ready = async (follower: Follower, home: string): Promise<Array<string>> => {
  const probes: Array<string> = []
  for (let i = 0; ; i++) {
    const probe = run(home, ["true"])
    probes.push(probe.id)
    try {
      await follower.waitFor(
        "a probe job",
        (l) => probes.some((p) => l.includes(p) || l.includes(Ids.shortId(p))),
        5000
      )
      return probes
    } catch (e) {
      if (i >= 20 || !follower.running()) throw e
    }
  }
}

describe.skipIf(missing.length > 0)("examples/feed: following every job from a script", () => {
  it("bash + jq: waits on an empty home, sees jobs started after it, and a supervisor killed with kill -9", async () => {
    const home = tmp.home()
    const follower = follow(["bash", Path.join(EXAMPLES, "follow.sh")], home)
    // an empty home (not even created yet): the follower waits, it does not exit
    await new Promise((r) => setTimeout(r, 3000))
    expect(follower.running(), follower.stderr()).toBe(true)
    expect(follower.lines()).toEqual([])

    const failing = run(home, ["sh", "-c", "exit 3"])
    await follower.waitFor("the failed job's end", (l) => l === `${failing.shortId}\tfailed\tExited\t3`)
    expect(follower.lines()[0]).toBe(`${failing.shortId}\tpending\tSubmitted\t`)

    const sleeper = run(home, ["sleep", "300"])
    const start = await started(home, sleeper.id)
    await follower.waitFor("the sleeper's start", (l) => l.startsWith(`${sleeper.shortId}\trunning\tStarted`))
    process.kill(start.supervisorPid, "SIGKILL")
    // nobody runs `jobs` here: the feed itself notices and records it
    await follower.waitFor(
      "Interrupted after kill -9 of the supervisor",
      (l) => l === `${sleeper.shortId}\tinterrupted\tInterrupted\t`
    )
    expect(readEvents(home, sleeper.id).filter((e) => e.type === "Interrupted")).toHaveLength(1)
    // what a user does next: `jobs stop` ends what is left of it
    expect(jobs(["stop", sleeper.id], { home }).code).toBe(0)
    await follower.stop()
  }, 120_000)

  it("Python: a restart resumes from the saved cursor, without loss or duplicates", async () => {
    const home = tmp.home()
    const before = run(home, ["true"])
    jobs(["wait", before.id], { home })
    const cursorFile = Path.join(tmp.dir(), "cursor")
    const argv = ["python3", Path.join(EXAMPLES, "follow.py"), cursorFile]
    const parse = (lines: Array<string>) =>
      lines.map((l) => JSON.parse(l) as { job: string; type: string; event: string })

    const first = follow(argv, home)
    const probes = await ready(first, home)
    const a = run(home, ["sh", "-c", "echo a"])
    await first.waitFor("A's end", (l) => l.includes(a.id) && l.includes('"Exited"'))
    await first.stop("SIGTERM")
    const firstSeen = parse(first.lines())
    expect(Fs.readFileSync(cursorFile, "utf8")).toMatch(/^1\./)

    // while nobody follows: two jobs run and end, and the first job is removed
    const b = run(home, ["sh", "-c", "echo b"])
    const c = run(home, ["sh", "-c", "exit 2"])
    for (const j of [b, c]) jobs(["wait", j.id], { home })
    const expected = [a, b, c].flatMap((j) => readEvents(home, j.id).map((e) => e.id as string))
    expect(jobs(["rm", a.id], { home }).code).toBe(0)

    const second = follow(argv, home)
    await second.waitFor("C's end", (l) => l.includes(c.id) && l.includes('"Exited"'))
    await second.waitFor("B's end", (l) => l.includes(b.id) && l.includes('"Exited"'))
    // and it goes on following: a job started after the restart
    const d = run(home, ["true"])
    await second.waitFor("D's end", (l) => l.includes(d.id) && l.includes('"Exited"'))
    await second.stop("SIGTERM")

    const seen = [...firstSeen, ...parse(second.lines())]
      .filter((e) => e.job !== d.id && !probes.includes(e.job))
      .map((e) => e.event)
    // no duplicates, nothing lost, nothing from before the first start
    expect(new Set(seen).size).toBe(seen.length)
    expect([...seen].sort()).toEqual([...expected].sort())
    expect(seen.some((e) => readEvents(home, before.id).some((x) => x.id === e))).toBe(false)
  }, 120_000)

  it("jobs events --all --follow holds a bounded number of descriptors: 300 jobs under ulimit -n 256", async () => {
    const home = tmp.home()
    const follower = follow(
      ["sh", "-c", 'ulimit -n 256 && exec "$0" -- "$1" events --all --follow --type Exited', process.execPath, BIN],
      home
    )
    await new Promise((r) => setTimeout(r, 1500))
    const lines = Array.from({ length: 300 }, (_, i) => `sleep 2; exit ${i % 7}`).join("\n")
    const dir = tmp.dir()
    Fs.writeFileSync(Path.join(dir, "each"), `${lines}\n`)
    const r = await jobsAsync(["run", "--each", Path.join(dir, "each")], { home })
    expect(r.code, r.stderr).toBe(0)
    await eventually(
      () => (follower.lines().length >= 300 ? true : undefined),
      180_000,
      `300 Exited lines (have ${follower.lines().length}; stderr: ${follower.stderr()})`
    )
    // and it still follows: one more job
    const last = run(home, ["true"])
    await follower.waitFor("the 301st job", (l) => l.includes(last.id))
    const ended = follower.lines().map((l) => JSON.parse(l) as { event: { type: string; job: string } })
    expect(new Set(ended.map((e) => e.event.job)).size).toBe(301)
    expect(follower.stderr()).toBe("")
    await follower.stop()
  }, 300_000)

  it("jobs events --all replays; from any line's cursor it gives exactly the lines after it, across rm and new jobs", async () => {
    const home = tmp.home()
    const ids = [run(home, ["true"]), run(home, ["sh", "-c", "exit 4"]), run(home, ["sh", "-c", "echo x"])].map(
      (j) => j.id
    )
    for (const id of ids) jobs(["wait", id], { home })
    type Line = { cursor: string; job: { id: string; status: string }; event: { id: string; type: string; at: string } }
    const replay = (...args: Array<string>): Array<Line> => {
      const r = jobs(["events", "--all", ...args], { home })
      expect(r.code, r.stderr).toBe(0)
      return r.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Line)
    }
    const all = replay()
    // every line is what the published schema says, checked by a validator the project did not write
    const schema = JSON.parse(
      Fs.readFileSync(Path.resolve(EXAMPLES, "../../cli/schemas/feed-line.schema.json"), "utf8")
    )
    const valid = new Ajv({ strict: false }).compile(schema)
    for (const line of all) expect(valid(line), JSON.stringify(valid.errors)).toBe(true)
    const expected = ids.flatMap((id) => readEvents(home, id).map((e) => e.id as string))
    expect(all.map((l) => l.event.id)).toEqual(expected)
    // each line's event is the log's line, as `jobs events ID` prints it
    expect(all.filter((l) => l.job.id === ids[1]).map((l) => JSON.stringify(l.event))).toEqual(
      jobs(["events", ids[1]!], { home }).stdout.trim().split("\n")
    )
    expect(all.at(-1)!.job.status).toBe("completed")
    for (const [k, line] of all.entries()) {
      expect(replay("--since", line.cursor).map((l) => l.event.id)).toEqual(expected.slice(k + 1))
    }
    // a job removed, a new one: from the cursor of the second job's first event, the rest of the second job, then
    // the new job; nothing of the removed one
    const mark = all.findIndex((l) => l.job.id === ids[1])
    expect(jobs(["rm", ids[2]!], { home }).code).toBe(0)
    const fresh = run(home, ["true"])
    jobs(["wait", fresh.id], { home })
    const after = replay("--since", all[mark]!.cursor).map((l) => l.event.id)
    expect(after).toEqual([
      ...readEvents(home, ids[1]!)
        .slice(1)
        .map((e) => e.id as string),
      ...readEvents(home, fresh.id).map((e) => e.id as string)
    ])
    // filters, and a time: the events stamped after it
    expect(replay("--type", "Exited", "--status", "failed").map((l) => l.job.id)).toEqual([ids[1]])
    const at = readEvents(home, fresh.id)[0]!.at as string
    expect(replay("--since", at, "--job", fresh.shortId).map((l) => l.event.type)).toEqual(
      readEvents(home, fresh.id)
        .filter((e) => e.at > at)
        .map((e) => e.type)
    )
    expect(jobs(["events", "--all", "--since", "yesterday"], { home }).stderr).toMatch(
      /^Cannot read --since "yesterday"/
    )
    expect(jobs(["events", "--all", "--type", "Exitted"], { home }).code).toBe(2)
  }, 120_000)
})
