// How a job on an SSH worker is judged when what runs it is gone (issue 16), against a real sshd on loopback: a submit
// killed with -9 before the worker's supervisor started is recorded once as never started; what a killed remote
// supervisor left running is stopped by `jobs stop` (and by --all), and held to its timeout by the next reader.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { BIN, eventually, json, type Result } from "../support/cli.ts"
import { groupMembers, processesOf, procStat, readEvents, scratch } from "../support/job_files.ts"
import { workerSuite } from "../support/worker.ts"

const tmp = scratch()
const suite = workerSuite(tmp, "remote judgement tests")
const { env } = suite

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly reason: string | null
}

/** A new home with worker "w" on the test server (its host key known), its remote home, and a project to push. */
const setup = () => {
  const { home, worker: remote } = suite.withWorker()
  const as = (args: ReadonlyArray<string>, cwd?: string): Result => suite.as(home, args, cwd)
  const project = tmp.dir()
  Fs.writeFileSync(Path.join(project, "data.txt"), "x\n")
  return { home, remote, project, as }
}

const killGroup = (pgid: number) => {
  try {
    process.kill(-pgid, "SIGKILL")
  } catch {
    // gone
  }
}

/** The live children of a process. */
const childrenOf = (pid: number): Array<number> =>
  Fs.readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = Fs.readFileSync(`/proc/${p}/stat`, "utf8")
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid
      } catch {
        return false
      }
    })
    .map(Number)

/** Every process on the worker (this machine: the sshd is on loopback) that was started for the job. */
const launchedFor = (id: string): Array<number> =>
  Fs.readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return Fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(id) && procStat(Number(p))?.state !== "Z"
      } catch {
        return false
      }
    })
    .map(Number)

describe.skipIf(!suite.enabled)(
  "an --on job whose submitter is killed with -9 before the worker's supervisor starts",
  () => {
    it("is recorded once as never started: wait returns 125, rm works here and on the worker, nothing ran", async () => {
      const { home, remote, project, as } = setup()
      // the submitter pauses once the files are on the worker (a test-only hook), and is killed there
      const submitter = ChildProcess.spawn(process.execPath, ["--", BIN, "run", "--on", "w", "--", "touch", "ran"], {
        cwd: project,
        env: {
          ...process.env,
          ...env(),
          HOME: suite.server().clientHome,
          JOBS_HOME: home,
          JOBS_TEST_PAUSE: "pushed:60000"
        },
        stdio: "ignore"
      })
      const id = await eventually(
        () =>
          Fs.existsSync(Path.join(home, "jobs"))
            ? Fs.readdirSync(Path.join(home, "jobs")).find(
                (d) => !d.startsWith(".") && readEvents(home, d).some((e) => e.type === "Synced")
              )
            : undefined,
        60_000,
        "the push"
      )
      submitter.kill("SIGKILL")
      await new Promise((resolve) => submitter.once("exit", resolve))
      expect(Fs.existsSync(Path.join(remote, "workdirs", id, "data.txt"))).toBe(true)
      const wait = as(["wait", id, "--timeout", "60s"])
      expect(wait.code, wait.stderr).toBe(125)
      const status = json<JobJson>(as(["status", id, "--json"]))
      expect(status.status).toBe("interrupted")
      expect(status.reason).toMatch(/^never started/)
      as(["list", "--all"])
      expect(readEvents(home, id).filter((e) => e.type === "Interrupted")).toHaveLength(1)
      expect(Fs.existsSync(Path.join(remote, "workdirs", id, "ran"))).toBe(false)
      expect(launchedFor(id)).toEqual([])
      const rm = as(["rm", "--yes", id])
      expect(rm.code, rm.stderr).toBe(0)
      expect(Fs.existsSync(Path.join(remote, "jobs", id))).toBe(false)
      expect(Fs.existsSync(Path.join(remote, "workdirs", id))).toBe(false)
      expect(Fs.existsSync(Path.join(home, "jobs", id))).toBe(false)
    }, 180_000)

    it("leaves a job whose submitter still pushes pending", async () => {
      const { home, project, as } = setup()
      const submitter = ChildProcess.spawn(process.execPath, ["--", BIN, "run", "--on", "w", "--", "true"], {
        cwd: project,
        env: {
          ...process.env,
          ...env(),
          HOME: suite.server().clientHome,
          JOBS_HOME: home,
          JOBS_TEST_PAUSE: "pushed:6000"
        },
        stdio: "ignore"
      })
      const id = await eventually(
        () =>
          Fs.existsSync(Path.join(home, "jobs"))
            ? Fs.readdirSync(Path.join(home, "jobs")).find(
                (d) => !d.startsWith(".") && readEvents(home, d).some((e) => e.type === "Synced")
              )
            : undefined,
        60_000,
        "the push"
      )
      await new Promise((r) => setTimeout(r, 3500))
      expect(json<JobJson>(as(["status", id, "--json"])).status).toBe("pending")
      await new Promise((resolve) => submitter.once("exit", resolve))
      expect(as(["wait", id, "--timeout", "60s"]).code).toBe(0)
      expect(readEvents(home, id).some((e) => e.type === "Interrupted")).toBe(false)
    }, 180_000)
  }
)

/**
 * The command of the jobs below: a worker's supervisor runs in a tmux pane, whose end hangs up the terminal's
 * foreground group; a command that ignores the hang-up runs on, as one started with nohup would.
 */
const HUP_PROOF = "trap '' HUP; sleep 300 & sleep 300 & wait"

describe.skipIf(!suite.enabled)("an --on job whose supervisor on the worker is killed with -9", () => {
  /** A job on the worker whose supervisor was killed while its command (three processes) runs on. */
  const orphaned = async (flags: ReadonlyArray<string> = []) => {
    const { home, project, as } = setup()
    const r = as(["run", "--on", "w", "--json", ...flags, "--", "sh", "-c", HUP_PROOF], project)
    expect(r.code, r.stderr).toBe(0)
    const job = json<JobJson>(r)
    // the worker's Started comes home with any read
    const s = await eventually(
      () => {
        as(["status", job.id])
        return readEvents(home, job.id).find((e) => e.type === "Started")
      },
      60_000,
      "the worker's Started"
    )
    await eventually(() => (groupMembers(s.pgid).length >= 3 ? true : undefined), 15_000, "the command's group")
    return { home, as, job, s }
  }

  it("jobs stop stops what is left of its command on the worker", async () => {
    const { as, job, s } = await orphaned()
    try {
      process.kill(s.supervisorPid, "SIGKILL")
      await eventually(() => (procStat(s.supervisorPid) === undefined ? true : undefined), 15_000, "the supervisor")
      expect(json<JobJson>(as(["status", job.id, "--json"])).status).toBe("interrupted")
      expect(processesOf(job.id).length).toBeGreaterThanOrEqual(3)
      const stop = as(["stop", job.id, "--grace", "1s"])
      expect(stop.code, stop.stderr).toBe(0)
      expect(stop.stdout).not.toMatch(/already ended/)
      // on the worker, nothing of the job runs
      expect(processesOf(job.id)).toEqual([])
      expect(groupMembers(s.pgid)).toEqual([])
      expect(as(["stop", job.id]).stdout).toMatch(/already ended/)
      expect(as(["rm", "--yes", job.id]).code).toBe(0)
    } finally {
      killGroup(s.pgid)
    }
  }, 180_000)

  it("jobs stop --all --yes stops it too", async () => {
    const { as, job, s } = await orphaned()
    try {
      process.kill(s.supervisorPid, "SIGKILL")
      await eventually(() => (procStat(s.supervisorPid) === undefined ? true : undefined), 15_000, "the supervisor")
      expect(json<JobJson>(as(["status", job.id, "--json"])).status).toBe("interrupted")
      const stop = as(["stop", "--all", "--yes", "--grace", "1s"])
      expect(stop.code, stop.stderr).toBe(0)
      expect(stop.stdout).toContain(`${job.shortId} interrupted: what was left of its command is stopped`)
      expect(processesOf(job.id)).toEqual([])
    } finally {
      killGroup(s.pgid)
    }
  }, 180_000)

  it("is held to its timeout by the next reader once the supervisor and its watcher are gone", async () => {
    const { as, job, s } = await orphaned(["--timeout", "20s", "--grace", "1s"])
    try {
      // in a tmux pane the supervisor has job control: its watcher is a child in a group of its own
      const watchers = childrenOf(s.supervisorPid).filter((pid) => procStat(pid)?.pgrp !== s.pgid)
      expect(watchers.length).toBeGreaterThanOrEqual(1)
      for (const pid of [s.supervisorPid, ...watchers]) process.kill(pid, "SIGKILL")
      await eventually(
        () => ([s.supervisorPid, ...watchers].every((pid) => procStat(pid) === undefined) ? true : undefined),
        15_000,
        "the supervisor and its watcher"
      )
      // nobody looks until the deadline has passed
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(String(s.at)) + 24_000 - Date.now())))
      expect(processesOf(job.id).length).toBeGreaterThanOrEqual(3)
      const wait = as(["wait", job.id, "--timeout", "60s"])
      expect(wait.code, wait.stderr).toBe(125)
      expect(processesOf(job.id)).toEqual([])
      const after = json<JobJson>(as(["status", job.id, "--json"]))
      expect(after.status).toBe("timed-out")
      expect(after.reason).toMatch(/its timeout \(20s\) was carried out/)
    } finally {
      killGroup(s.pgid)
    }
  }, 180_000)
})
