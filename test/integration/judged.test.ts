// How a job is judged when its supervisor is gone (issue 16): a timeout whose supervisor and watcher were both killed
// with -9 is carried out by the next reader, and `jobs stop --all` / `--group` stop what interrupted jobs left running.
// Real process trees; each test checks what the user does next (wait, stop, rm) and that nothing of the job runs.
import { afterAll, describe, expect, it } from "vitest"
import { eventually, jobs, json } from "../support/cli.ts"
import { groupGone, groupMembers, processesOf, procStat, readEvents, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly reason: string | null
  readonly exitCode: number | null
  readonly signal: string | null
}

const submit = (home: string, argv: ReadonlyArray<string>, flags: ReadonlyArray<string> = []) => {
  const r = jobs(["run", "--json", ...flags, "--", ...argv], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}

const status = (home: string, id: string): JobJson => {
  const r = jobs(["status", id, "--json"], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}

/** Sleeps until `secs` after the job's Started. */
const until = (s: { readonly [k: string]: unknown }, secs: number) =>
  new Promise((r) => setTimeout(r, Math.max(0, Date.parse(String(s.at)) + secs * 1000 - Date.now())))

const killGroup = (pgid: number) => {
  try {
    process.kill(-pgid, "SIGKILL")
  } catch {
    // gone
  }
}

/** A job whose command (three processes in its own group) runs on after its supervisor was killed with -9. */
const orphaned = async (home: string, flags: ReadonlyArray<string> = [], withWatcher = false) => {
  const job = submit(home, ["sh", "-c", "sleep 300 & sleep 300 & wait"], flags)
  const s = await started(home, job.id)
  await eventually(() => (groupMembers(s.pgid).length >= 3 ? true : undefined), 15_000, "the command's group")
  if (withWatcher) {
    // the watcher is a subshell in the supervisor's own group (the supervisor leads it: it was started detached)
    await eventually(() => (groupMembers(s.supervisorPid).length >= 2 ? true : undefined), 15_000, "the watcher")
    process.kill(-s.supervisorPid, "SIGKILL")
  } else {
    process.kill(s.supervisorPid, "SIGKILL")
  }
  const gone = () =>
    withWatcher ? groupMembers(s.supervisorPid).length === 0 : procStat(s.supervisorPid) === undefined
  await eventually(() => (gone() ? true : undefined), 15_000, "the supervisor")
  expect(groupMembers(s.pgid).length).toBeGreaterThanOrEqual(3)
  return { job, s }
}

describe("a timeout whose supervisor and watcher were both killed with -9", () => {
  it("is carried out by the next reader after the deadline: timed-out once, the group gone, wait and rm work", async () => {
    const home = tmp.home()
    const { job, s } = await orphaned(home, ["--timeout", "12s", "--grace", "1s"], true)
    try {
      // nobody looks until the deadline has passed; then the user waits for it
      await until(s, 16)
      expect(groupMembers(s.pgid).length).toBeGreaterThanOrEqual(3)
      const wait = jobs(["wait", job.id, "--timeout", "60s"], { home })
      expect(wait.code, wait.stderr).toBe(125)
      await groupGone(s.pgid)
      expect(processesOf(job.id)).toEqual([])
      const after = status(home, job.id)
      expect(after.status).toBe("timed-out")
      expect(after.reason).toMatch(/its timeout \(12s\) was carried out/)
      // recorded once, whoever else looked
      jobs(["list", "--all"], { home })
      expect(readEvents(home, job.id).filter((e) => e.type === "TimedOut")).toHaveLength(1)
      expect(readEvents(home, job.id).filter((e) => e.type === "Interrupted")).toHaveLength(1)
      expect(jobs(["stop", job.id], { home }).stdout).toMatch(/already ended/)
      const rm = jobs(["rm", job.id], { home })
      expect(rm.code, rm.stderr).toBe(0)
    } finally {
      killGroup(s.pgid)
    }
  }, 120_000)

  it("holds a job judged interrupted before its deadline to that deadline: the next reader after it stops the group", async () => {
    const home = tmp.home()
    const { job, s } = await orphaned(home, ["--timeout", "12s", "--grace", "1s"], true)
    try {
      // read at once: the supervisor is gone, the deadline still ahead
      expect(status(home, job.id).status).toBe("interrupted")
      await until(s, 16)
      // past the deadline, the command still runs until somebody reads the job
      expect(groupMembers(s.pgid).length).toBeGreaterThanOrEqual(3)
      const r = jobs(["list", "--all"], { home })
      expect(r.code, r.stderr).toBe(0)
      await groupGone(s.pgid)
      expect(processesOf(job.id)).toEqual([])
      expect(readEvents(home, job.id).filter((e) => e.type === "TimedOut")).toHaveLength(1)
      status(home, job.id)
      expect(readEvents(home, job.id).filter((e) => e.type === "TimedOut")).toHaveLength(1)
      expect(jobs(["wait", job.id], { home }).code).toBe(125)
      expect(jobs(["rm", job.id], { home }).code).toBe(0)
    } finally {
      killGroup(s.pgid)
    }
  }, 120_000)

  it("never signals a group that no longer holds a process of the job", async () => {
    const home = tmp.home()
    const { job, s } = await orphaned(home, ["--timeout", "12s", "--grace", "1s"], true)
    // the job's processes end by themselves before the deadline: nothing of it is left to signal
    killGroup(s.pgid)
    await groupGone(s.pgid)
    await until(s, 16)
    expect(status(home, job.id).status).toBe("interrupted")
    expect(readEvents(home, job.id).some((e) => e.type === "TimedOut")).toBe(false)
  }, 120_000)
})

describe("stopping many jobs includes what interrupted jobs left running", () => {
  it("jobs stop --group G stops the orphans of its interrupted jobs too, says so, and leaves other jobs alone", async () => {
    const home = tmp.home()
    const a = await orphaned(home, ["--group", "g", "--grace", "1s"])
    const b = await orphaned(home, ["--group", "g", "--grace", "1s"])
    const other = await orphaned(home, ["--grace", "1s"])
    try {
      expect(status(home, a.job.id).status).toBe("interrupted")
      const r = jobs(["stop", "--group", "g"], { home })
      expect(r.code, r.stderr).toBe(0)
      for (const { job, s } of [a, b]) {
        expect(r.stdout).toContain(`${job.shortId} interrupted: what was left of its command is stopped`)
        await groupGone(s.pgid)
        expect(processesOf(job.id)).toEqual([])
      }
      expect(r.stdout).not.toContain(other.job.shortId)
      expect(groupMembers(other.s.pgid).length).toBeGreaterThanOrEqual(3)
      // nothing is left to stop: the group has no unfinished job
      const again = jobs(["stop", "--group", "g"], { home })
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).toMatch(/no unfinished job to stop/)
    } finally {
      for (const { s } of [a, b, other]) killGroup(s.pgid)
    }
  }, 120_000)

  it("jobs stop --all --yes stops running jobs and interrupted jobs' orphans alike, all signalled before waiting", async () => {
    const home = tmp.home()
    const lost = await orphaned(home, ["--grace", "2s"])
    const running = submit(home, ["sh", "-c", "trap '' TERM; sleep 300 & wait"], ["--grace", "2s"])
    const rs = await started(home, running.id)
    try {
      expect(status(home, lost.job.id).status).toBe("interrupted")
      const r = jobs(["stop", "--all", "--yes"], { home })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`${lost.job.shortId} interrupted: what was left of its command is stopped`)
      expect(r.stdout).toContain(`${running.shortId} stopped`)
      await groupGone(lost.s.pgid)
      await groupGone(rs.pgid)
      expect(processesOf(lost.job.id)).toEqual([])
      expect(processesOf(running.id)).toEqual([])
      expect(status(home, running.id)).toMatchObject({ status: "stopped", signal: "SIGKILL" })
    } finally {
      killGroup(lost.s.pgid)
      killGroup(rs.pgid)
    }
  }, 120_000)
})
