// Stop, timeout and queue slots when a job's supervisor is gone (kill -9), with real process trees: what is left of
// the job is found by its process group and its JOBS_ID, never by a bare pid, and `stop` of many jobs signals them
// all before waiting.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { eventually, jobs, json } from "../support/cli.ts"
import { groupGone, groupMembers, processesOf, procStat, readEvents, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly exitCode: number | null
  readonly signal: string | null
}

const submit = (home: string, argv: ReadonlyArray<string>, flags: ReadonlyArray<string> = []) => {
  const r = jobs(["run", "--json", ...flags, "--", ...argv], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r).id
}

const status = (home: string, id: string): JobJson => {
  const r = jobs(["status", id, "--json"], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Kills a process with -9 and waits until its pid is free again (not even a zombie left). */
const killAndReap = async (pid: number) => {
  process.kill(pid, "SIGKILL")
  await eventually(() => (Fs.existsSync(`/proc/${pid}`) ? undefined : true), 15_000, `pid ${pid} to be free`)
}

/** Waits until the job's process group has at least `n` live members. */
const members = async (pgid: number, n: number) =>
  eventually(() => (groupMembers(pgid).length >= n ? true : undefined), 15_000, `${n} members in group ${pgid}`)

const killGroup = (pgid: number) => {
  try {
    process.kill(-pgid, "SIGKILL")
  } catch {
    // gone
  }
}

describe("a job whose supervisor was killed with -9", () => {
  it("is stopped by `jobs stop` even when its group leader has exited and only its children run", async () => {
    const home = tmp.home()
    const id = submit(home, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    const s = await started(home, id)
    await members(s.pgid, 3)
    try {
      await killAndReap(s.supervisorPid)
      // the leader goes too: only its two children are left, in the job's process group
      process.kill(s.pid, "SIGKILL")
      await eventually(() =>
        groupMembers(s.pgid).length === 2 && !groupMembers(s.pgid).includes(s.pid) ? 1 : undefined
      )
      expect(status(home, id).status).toBe("interrupted")

      const stop = jobs(["stop", id, "--grace", "1s"], { home })
      expect(stop.code, stop.stderr).toBe(0)
      expect(stop.stdout).not.toMatch(/already ended/)
      await groupGone(s.pgid)
      expect(processesOf(id)).toEqual([])
      expect(jobs(["stop", id], { home }).stdout).toMatch(/already ended/)
    } finally {
      killGroup(s.pgid)
    }
  })

  it("still times out: the watcher stops the group itself and records TimedOut", async () => {
    const home = tmp.home()
    const id = submit(home, ["sh", "-c", "sleep 300 & sleep 300 & wait"], ["--timeout", "3s", "--grace", "1s"])
    const s = await started(home, id)
    await members(s.pgid, 3)
    try {
      await killAndReap(s.supervisorPid)
      await groupGone(s.pgid, 30_000)
      expect(processesOf(id)).toEqual([])
      expect(readEvents(home, id).filter((e) => e.type === "TimedOut")).toMatchObject([{ timeoutSecs: 3 }])
      const job = status(home, id)
      expect(["timed-out", "interrupted"]).toContain(job.status)
    } finally {
      killGroup(s.pgid)
    }
  })

  it("never signals the process that was given the supervisor's pid after it died", async () => {
    const home = tmp.home()
    // a batch's supervisors lead no process group of their own: the kernel may hand a dead one's pid on at once
    const file = Path.join(tmp.dir(), "lines")
    Fs.writeFileSync(file, "sleep 300 & sleep 300 & wait\n")
    const r = jobs(["run", "--each", file, "--timeout", "4s", "--grace", "1s", "--json"], { home })
    expect(r.code, r.stderr).toBe(0)
    const id = json<Array<JobJson>>(r)[0]!.id
    const s = await started(home, id)
    await members(s.pgid, 3)
    let decoy: ChildProcess.ChildProcess | undefined
    try {
      await killAndReap(s.supervisorPid)
      // the kernel hands the supervisor's pid to another process (the next pid is set as root; other processes of
      // the machine may take it first, so this is tried a few times)
      for (let attempt = 0; attempt < 50 && decoy?.pid !== s.supervisorPid; attempt++) {
        decoy?.kill("SIGKILL")
        Fs.writeFileSync("/proc/sys/kernel/ns_last_pid", String(s.supervisorPid - 1))
        decoy = ChildProcess.spawn("sleep", ["300"], { stdio: "ignore" })
      }
      expect(decoy?.pid).toBe(s.supervisorPid)
      await groupGone(s.pgid, 30_000)
      await sleep(1000)
      // the decoy got no signal (USR1 would have killed it), and the job's own processes are gone
      expect(decoy!.exitCode).toBeNull()
      expect(decoy!.signalCode).toBeNull()
      expect(procStat(s.supervisorPid)?.state).not.toBe("Z")
      expect(readEvents(home, id).some((e) => e.type === "TimedOut")).toBe(true)
    } finally {
      decoy?.kill("SIGKILL")
      killGroup(s.pgid)
    }
  })

  it("holds its queue slot while its command runs on: a `parallel 1` group never runs two", async () => {
    const home = tmp.home()
    expect(jobs(["group", "set", "one", "--parallel", "1"], { home }).code).toBe(0)
    const a = submit(home, ["sh", "-c", "sleep 300 & sleep 300 & wait"], ["--group", "one"])
    const s = await started(home, a)
    await members(s.pgid, 3)
    try {
      await killAndReap(s.supervisorPid)
      const b = submit(home, ["true"], ["--group", "one"])
      // B waits as long as anything of A runs, even though A's supervisor is gone
      for (let i = 0; i < 10; i++) {
        await sleep(400)
        expect(status(home, b).status).toBe("pending")
      }
      expect(readEvents(home, b).some((e) => e.type === "Started")).toBe(false)
      const stop = jobs(["stop", a, "--grace", "1s"], { home })
      expect(stop.code, stop.stderr).toBe(0)
      await groupGone(s.pgid)
      expect(jobs(["wait", b, "--timeout", "30s"], { home }).code).toBe(0)
      expect(status(home, b).status).toBe("completed")
    } finally {
      killGroup(s.pgid)
    }
  })
})

describe("a job whose timeout watcher loses its sleep", () => {
  it("still times out when the watcher's sleep is killed", async () => {
    const home = tmp.home()
    const id = submit(home, ["sh", "-c", "sleep 300 & sleep 300 & wait"], ["--timeout", "4s", "--grace", "1s"])
    const s = await started(home, id)
    await members(s.pgid, 3)
    try {
      // the supervisor's own `sleep`s (its process group, not the job's) are the watcher's
      const sleeps = await eventually(() => {
        const found = groupMembers(s.supervisorPid).filter(
          (pid) => Fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep"
        )
        return found.length > 0 ? found : undefined
      })
      for (const pid of sleeps) process.kill(pid, "SIGKILL")
      const wait = jobs(["wait", id, "--timeout", "60s"], { home })
      expect(wait.code).toBe(143)
      expect(status(home, id)).toMatchObject({ status: "timed-out", signal: "SIGTERM" })
      await groupGone(s.pgid)
    } finally {
      killGroup(s.pgid)
    }
  })
})

describe("jobs stop of many jobs", () => {
  /** N jobs that ignore TERM (so each lasts its whole grace), in group `g` of a new home. */
  const many = (n: number) => {
    const home = tmp.home()
    const file = Path.join(tmp.dir(), "lines")
    Fs.writeFileSync(file, "trap '' TERM; sleep 300 & wait\n".repeat(n))
    const r = jobs(["run", "--each", file, "--group", "g", "--grace", "2s", "--json"], { home })
    expect(r.code, r.stderr).toBe(0)
    return { home, ids: json<Array<JobJson>>(r).map((j) => j.id) }
  }

  const allRunning = async (home: string, ids: ReadonlyArray<string>) => {
    const starts = await Promise.all(ids.map((id) => started(home, id, 60_000)))
    for (const s of starts) await members(s.pgid, 2)
    return starts
  }

  /** Every job stopped, each by KILL after its grace, nothing of them in /proc, and all signalled before any ended. */
  const allStopped = async (home: string, ids: ReadonlyArray<string>, pgids: ReadonlyArray<number>) => {
    for (const id of ids) expect(status(home, id)).toMatchObject({ status: "stopped", signal: "SIGKILL" })
    for (const pgid of pgids) await groupGone(pgid)
    for (const id of ids) expect(processesOf(id)).toEqual([])
    const at = (type: string) =>
      ids.map((id) => Date.parse(readEvents(home, id).find((e) => e.type === type)?.at ?? "NaN"))
    expect(Math.max(...at("StopRequested"))).toBeLessThan(Math.min(...at("Exited")))
  }

  it("stops 30 jobs named by id with one command", async () => {
    const { home, ids } = many(30)
    const starts = await allRunning(home, ids)
    try {
      const r = jobs(["stop", ...ids, "--json"], { home })
      expect(r.code, r.stderr).toBe(0)
      expect(
        json<Array<JobJson>>(r).map((j) => [j.id, j.status]),
        r.stdout
      ).toEqual(ids.map((id) => [id, "stopped"]))
      await allStopped(
        home,
        ids,
        starts.map((s) => s.pgid)
      )
    } finally {
      for (const s of starts) killGroup(s.pgid)
    }
  }, 240_000)

  it("stops every job of a group with --group, and leaves other jobs alone", async () => {
    const { home, ids } = many(30)
    const other = submit(home, ["sleep", "300"])
    const starts = await allRunning(home, ids)
    try {
      const r = jobs(["stop", "--group", "g"], { home })
      expect(r.code, r.stderr).toBe(0)
      await allStopped(
        home,
        ids,
        starts.map((s) => s.pgid)
      )
      expect(status(home, other).status).toBe("running")
    } finally {
      for (const s of starts) killGroup(s.pgid)
      jobs(["stop", other, "--signal", "KILL"], { home })
    }
  }, 240_000)

  it("stops every unfinished job with --all (--yes without a terminal), and refuses --all without it", async () => {
    const { home, ids } = many(5)
    const starts = await allRunning(home, ids)
    try {
      const refused = jobs(["stop", "--all"], { home })
      expect(refused.code).toBe(2)
      expect(refused.stderr.trim().split("\n")).toHaveLength(1)
      expect(refused.stderr).toMatch(/^Cannot stop every job: .*--yes/)
      for (const id of ids) expect(status(home, id).status).toBe("running")
      const r = jobs(["stop", "--all", "--yes"], { home })
      expect(r.code, r.stderr).toBe(0)
      await allStopped(
        home,
        ids,
        starts.map((s) => s.pgid)
      )
    } finally {
      for (const s of starts) killGroup(s.pgid)
    }
  })
})
