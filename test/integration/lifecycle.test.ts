// A job's life through the real CLI and supervisor: exit codes, signals, stop and timeout of a whole process tree,
// a supervisor that vanishes, and a pid that now belongs to someone else.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Ids from "../../core/ids.ts"
import { eventually, jobs, json, type Result } from "../support/cli.ts"
import {
  type EventLine,
  eventsPath,
  groupGone,
  groupMembers,
  jobDir,
  procStat,
  readEvents,
  scratch,
  started
} from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly reason: string | null
}

/** `jobs run --json -- ARGV` in a fresh home; returns the home and the job's id. */
const submit = (argv: ReadonlyArray<string>, flags: ReadonlyArray<string> = []) => {
  const home = tmp.home()
  const r = jobs(["run", "--json", ...flags, "--", ...argv], { home })
  expect(r.code, r.stderr).toBe(0)
  return { home, id: json<JobJson>(r).id }
}

const status = (home: string, id: string): JobJson => {
  const r = jobs(["status", id, "--json"], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}

const oneLine = (r: Result) => expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)

const types = (events: ReadonlyArray<EventLine>) => events.map((e) => e.type)

/** Waits until the job's process group has at least `n` live members (its children are forked). */
const groupOf = async (home: string, id: string, n: number) => {
  const { pgid } = await started(home, id)
  await eventually(() => (groupMembers(pgid).length >= n ? true : undefined), 15_000, `${n} members in group ${pgid}`)
  return pgid as number
}

describe("jobs wait and status", () => {
  it("reports a command that succeeds as completed, and wait exits 0", () => {
    const { home, id } = submit(["sh", "-c", "echo done"])
    const wait = jobs(["wait", id], { home })
    expect(wait.code, wait.stderr).toBe(0)
    expect(status(home, id)).toMatchObject({ status: "completed", exitCode: 0, signal: null })
    expect(jobs(["logs", id], { home }).stdout).toBe("done\n")
    expect(types(readEvents(home, id))).toEqual(["Submitted", "Started", "Exited"])
  })

  it("mirrors a failing command's exit code in wait, and says failed", () => {
    const { home, id } = submit(["sh", "-c", "exit 3"])
    const wait = jobs(["wait", id], { home })
    expect(wait.code).toBe(3)
    expect(status(home, id)).toMatchObject({ status: "failed", exitCode: 3 })
  })

  it("exits 128+9 from wait for a command killed by SIGKILL, and names the signal", () => {
    const { home, id } = submit(["sh", "-c", "kill -9 $$"])
    const wait = jobs(["wait", id, "--json"], { home })
    expect(wait.code).toBe(137)
    expect(json<Array<JobJson>>(wait)).toMatchObject([{ id, status: "failed", exitCode: null, signal: "SIGKILL" }])
    expect(status(home, id)).toMatchObject({ signal: "SIGKILL", exitCode: null })
  })
})

describe("jobs stop", () => {
  it("stops the whole process group, grandchildren included", async () => {
    const { home, id } = submit(["sh", "-c", "sleep 300 & sleep 300 & wait"])
    const pgid = await groupOf(home, id, 3)

    const stop = jobs(["stop", id], { home })
    expect(stop.code, stop.stderr).toBe(0)
    expect(status(home, id)).toMatchObject({ status: "stopped" })
    const wait = jobs(["wait", id], { home })
    expect(wait.code).toBe(143)
    await groupGone(pgid)
    expect(types(readEvents(home, id))).toEqual(["Submitted", "Started", "StopRequested", "Exited"])
  })

  it("follows TERM with KILL after the grace when the job ignores TERM", async () => {
    const { home, id } = submit(["sh", "-c", "trap '' TERM; echo ready; sleep 300 & wait"])
    const pgid = await groupOf(home, id, 2)
    await eventually(() =>
      Fs.readFileSync(Path.join(jobDir(home, id), "output.log"), "utf8") === "ready\n" ? 1 : undefined
    )

    const stop = jobs(["stop", "--grace", "1s", id], { home })
    expect(stop.code, stop.stderr).toBe(0)
    expect(status(home, id)).toMatchObject({ status: "stopped", signal: "SIGKILL" })
    expect(jobs(["wait", id], { home }).code).toBe(137)
    await groupGone(pgid)
    const stopRequested = readEvents(home, id).find((e) => e.type === "StopRequested")
    expect(stopRequested).toMatchObject({ signal: "SIGTERM", graceSecs: 1 })
  })

  it("exits 0 and says the job already ended when it has", () => {
    const { home, id } = submit(["true"])
    expect(jobs(["wait", id], { home }).code).toBe(0)
    const before = Fs.readFileSync(eventsPath(home, id), "utf8")
    const stop = jobs(["stop", id], { home })
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toMatch(/already ended/)
    expect(status(home, id).status).toBe("completed")
    // nothing was recorded for a job that had ended
    expect(Fs.readFileSync(eventsPath(home, id), "utf8")).toBe(before)
  })
})

describe("--timeout", () => {
  it("times out the whole process group: TimedOut, then no member left", async () => {
    const { home, id } = submit(["sh", "-c", "sleep 300 & sleep 300 & wait"], ["--timeout", "1s"])
    const { pgid } = await started(home, id)
    const wait = jobs(["wait", id], { home })
    expect(wait.code).toBe(143)
    expect(status(home, id)).toMatchObject({ status: "timed-out", signal: "SIGTERM" })
    expect(readEvents(home, id).find((e) => e.type === "TimedOut")).toMatchObject({ timeoutSecs: 1 })
    await groupGone(pgid)
  })
})

describe("liveness", () => {
  it("records a job whose supervisor was killed with -9 as interrupted", async () => {
    const { home, id } = submit(["sleep", "300"])
    const s = await started(home, id)
    try {
      process.kill(s.supervisorPid, "SIGKILL")
      const job = await eventually(() => {
        const j = status(home, id)
        return j.status === "running" ? undefined : j
      })
      expect(job.status).toBe("interrupted")
      expect(job.reason).toMatch(/supervisor/)
      const interrupted = readEvents(home, id).filter((e) => e.type === "Interrupted")
      expect(interrupted).toHaveLength(1)
      // wait has no exit code to mirror
      expect(jobs(["wait", id], { home }).code).toBe(125)
      // a second look does not record it again
      expect(status(home, id).status).toBe("interrupted")
      expect(readEvents(home, id).filter((e) => e.type === "Interrupted")).toHaveLength(1)
      // the command outlived its supervisor: stop still ends what is left of the job
      expect(groupMembers(s.pgid).length).toBeGreaterThan(0)
      const stop = jobs(["stop", id, "--grace", "1s"], { home })
      expect(stop.code).toBe(0)
      expect(stop.stdout).not.toMatch(/already ended/)
      await groupGone(s.pgid)
      expect(jobs(["stop", id], { home }).stdout).toMatch(/already ended/)
    } finally {
      // the orphaned command keeps running (no daemon, by design): the test ends it
      try {
        process.kill(-s.pgid, "SIGKILL")
      } catch {}
    }
  })

  it.each([
    ["this test's own process", process.pid],
    ["pid 1", 1]
  ])("never takes a live but unrelated process (%s) for a job's supervisor", (_, pid) => {
    const home = tmp.home()
    const id = Ids.make()
    const stat = procStat(pid)
    expect(stat).toBeDefined()
    const bootId = Fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    const at = new Date().toISOString()
    const lines = [
      {
        type: "Submitted",
        v: 1,
        id: Ids.make(),
        job: id,
        at,
        spec: {
          command: ["sleep", "300"],
          name: null,
          cwd: "/",
          project: "/",
          executor: "local",
          worker: null,
          timeoutSecs: null,
          graceSecs: 10,
          key: null,
          retryOf: null
        }
      },
      {
        type: "Started",
        v: 1,
        id: `${id}.started`,
        job: id,
        at,
        pid,
        pgid: pid,
        host: "test",
        bootId,
        startTime: stat!.startTime + 12345,
        supervisorPid: pid,
        supervisorStartTime: stat!.startTime + 12345
      }
    ]
    Fs.mkdirSync(jobDir(home, id), { recursive: true, mode: 0o700 })
    Fs.writeFileSync(eventsPath(home, id), lines.map((l) => JSON.stringify(l) + "\n").join(""), { mode: 0o600 })

    const job = status(home, id)
    expect(job.status).toBe("interrupted")
    expect(readEvents(home, id).map((e) => e.type)).toEqual(["Submitted", "Started", "Interrupted"])
    // stopping it now signals nobody: the process that has the pid is still here
    const stop = jobs(["stop", id], { home })
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toMatch(/already ended/)
    expect(procStat(pid)?.startTime).toBe(stat!.startTime)
  })
})

describe("error output", () => {
  it("stops, waits and shows an unknown job with one line on stderr", () => {
    const home = tmp.home()
    for (const args of [
      ["stop", "zzzzzzzz"],
      ["status", "zzzzzzzz"]
    ]) {
      const r = jobs(args, { home })
      expect(r.code).toBe(1)
      oneLine(r)
      expect(r.stderr).toMatch(/^Cannot /)
    }
    const wait = jobs(["wait", "zzzzzzzz"], { home })
    expect(wait.code).toBe(125)
    oneLine(wait)
  })
})

describe("nothing of an ended job runs on", () => {
  it("leaves no process behind once a short job with a long --timeout has ended", async () => {
    const home = tmp.home()
    // the timeout's watcher of a job that ends at once used to miss the supervisor's TERM and live for the whole hour
    const ids = Array.from(
      { length: 12 },
      () => json<{ id: string }>(jobs(["run", "--json", "--timeout", "1h", "--", "true"], { home })).id
    )
    for (const id of ids) expect(jobs(["wait", id], { home }).code).toBe(0)
    const ours = () =>
      Fs.readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return Fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(home)
          } catch {
            return false
          }
        })
    await eventually(() => (ours().length === 0 ? true : undefined), 20_000, "no process of the home's jobs")
  })
})
