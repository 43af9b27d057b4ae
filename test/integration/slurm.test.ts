// Jobs through a real Slurm (munged, slurmctld and slurmd on this machine, started by test/support/slurm.ts): exit
// code and output, queueing with Slurm's reason, stop while pending and running, scancel behind jobs' back, a Slurm
// time limit, job arrays, missing client tools, and the same through an SSH worker that is the login node.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, json, type Result } from "../support/cli.ts"
import { jobDirs, readEvents, scratch } from "../support/job_files.ts"
import * as Slurm from "../support/slurm.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Slurm.available()
if (!can && !inCi) console.warn(`SKIPPING Slurm tests: ${Slurm.missing()}`)
const canSsh = Sshd.available()
if (!canSsh && !inCi) console.warn("SKIPPING the Slurm-through-SSH test: install openssh-server")

interface Job {
  readonly id: string
  readonly status: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly reason: string | null
  readonly executor: string
  readonly worker: string | null
  readonly slurmJobId: string | null
}

const homes: Array<string> = []
const newHome = () => {
  const home = tmp.home()
  homes.push(home)
  return home
}
const status = (home: string, id: string, env?: Record<string, string | undefined>) =>
  json<Job>(jobs(["status", id, "--json"], { home, ...(env === undefined ? {} : { env }) }))
const run = (
  home: string,
  args: ReadonlyArray<string>,
  options: { cwd?: string; env?: Record<string, string | undefined> } = {}
) => {
  const r = jobs(["run", "--json", ...args], { home, ...options })
  expect(r.code, r.stderr).toBe(0)
  return json<Job>(r)
}
/** What scontrol says of a Slurm job, in the test's own words (JobState=...). */
const slurmState = (slurmJobId: string) =>
  /JobState=(\S+)/.exec(
    ChildProcess.execFileSync("scontrol", ["show", "job", "-o", slurmJobId], { encoding: "utf8" })
  )?.[1]
const types = (home: string, id: string) => readEvents(home, id).map((e) => e.type)

/** Cancels whatever Slurm jobs the test homes submitted (so that a failed test leaves none behind). */
const cancelAll = () => {
  const ids = homes.flatMap((home) =>
    jobDirs(home).flatMap((id) =>
      readEvents(home, id)
        .filter((e) => e.type === "SlurmSubmitted")
        .map((e) => e.slurmJobId)
    )
  )
  if (ids.length > 0) ChildProcess.spawnSync("scancel", ids, { stdio: "ignore" })
}

// Slurm enforces --time at about one-minute granularity: this job is started first and checked last, so the
// minute passes while the other tests run
let limitHome = ""
let limited: Job | undefined

beforeAll(async () => {
  if (!can && !inCi) return
  const took = await Slurm.ensure()
  console.log(`slurm ready in ${Math.round(took)} ms`)
  limitHome = newHome()
  limited = run(limitHome, ["--slurm", "--name", "limited", "--sbatch-arg=--time=1", "--", "sleep", "600"])
}, 120_000)

afterAll(() => {
  if (can || inCi) cancelAll()
  tmp.cleanup()
})

describe.skipIf(!can && !inCi)("jobs run --slurm", () => {
  it("runs the command in an allocation: its exit code, its output, the Slurm job id in list and status", async () => {
    const home = newHome()
    const project = tmp.dir()
    const job = run(home, ["--slurm", "--", "sh", "-c", "echo out; echo err >&2; pwd; exit 3"], { cwd: project })
    expect(job).toMatchObject({ executor: "slurm", worker: null })
    expect(job.slurmJobId).toMatch(/^\d+$/)
    const wait = jobs(["wait", job.id, "--timeout", "60s"], { home })
    expect(wait.code, wait.stderr).toBe(3)
    expect(jobs(["logs", job.id], { home }).stdout).toBe(`out\nerr\n${project}\n`)
    expect(status(home, job.id)).toMatchObject({ status: "failed", exitCode: 3, slurmJobId: job.slurmJobId })
    expect(slurmState(job.slurmJobId!)).toBe("COMPLETED")
    const list = jobs(["list", "--all"], { home }).stdout
    expect(list).toMatch(/SLURM/)
    expect(list).toMatch(new RegExp(`failed \\[3\\].*\\b${job.slurmJobId}\\b`))
    expect(types(home, job.id)).toEqual(["Submitted", "SlurmSubmitted", "Started", "Exited"])
    expect(jobs(["status", job.id], { home }).stdout).toMatch(new RegExp(`slurm job: ${job.slurmJobId}`))
  })

  it("sbatch refusing a job ends it failed-to-start (wait 125); retry runs a job with its whole Slurm request", async () => {
    const home = newHome()
    const refused = jobs(["run", "--slurm", "--partition", "nosuchpartition", "--", "true"], { home })
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split("\n")).toHaveLength(1)
    const [id] = Fs.readdirSync(Path.join(home, "jobs"))
    expect(status(home, id!)).toMatchObject({ status: "failed-to-start" })
    expect(types(home, id!)).toEqual(["Submitted", "FailedToStart"])
    expect(jobs(["wait", id!], { home }).code).toBe(125)

    const job = run(home, ["--slurm", "--cpus", "2", "--name", "twice", "--", "echo", "ran"])
    expect(jobs(["wait", job.id, "--timeout", "60s"], { home }).code).toBe(0)
    const retried = json<Job & { retryOf: string }>(jobs(["retry", "twice", "--json"], { home }))
    expect(retried).toMatchObject({ executor: "slurm", retryOf: job.id })
    expect(jobs(["wait", "twice", "--timeout", "60s"], { home }).code).toBe(0)
    expect(jobs(["logs", "twice"], { home }).stdout).toBe("ran\n")
    const spec = readEvents(home, retried.id).find((e) => e.type === "Submitted")!.spec
    expect(spec.slurm).toMatchObject({ cpus: 2 })
  })

  it("passes argv, name, cwd and home through Slurm without a shell ever reading them", () => {
    const root = tmp.dir()
    const home = Path.join(root, "h o'me $(touch pwned)")
    homes.push(home)
    const project = Path.join(root, "pro ject'; touch pwned #")
    Fs.mkdirSync(project)
    const argv = ["printf", "%s|", "$(touch pwned)", "a'b", "`touch pwned`", "*"]
    const job = run(home, ["--slurm", "--name", "n'; touch pwned #", "--", ...argv], { cwd: project })
    expect(jobs(["wait", job.id, "--timeout", "60s"], { home }).code).toBe(0)
    expect(jobs(["logs", job.id], { home }).stdout).toBe("$(touch pwned)|a'b|`touch pwned`|*|")
    expect(Fs.readdirSync(project)).toEqual([])
    expect(Fs.readdirSync(root).sort()).toEqual([Path.basename(home), Path.basename(project)].sort())
  })

  it("keeps jobs pending with Slurm's reason while it has no room for them, then runs them all", async () => {
    const home = newHome()
    // each job takes half the node: at most two run at once (one while the time-limit job holds a CPU)
    const submitted = [1, 2, 3, 4].map(() =>
      run(home, ["--slurm", "--cpus", String(Slurm.CPUS / 2), "--", "sleep", "3"])
    )
    const held = await eventually(
      () => {
        const all = submitted.map((j) => status(home, j.id))
        return all.find((j) => j.status === "pending" && j.reason !== null)
      },
      20_000,
      "a pending job with a reason"
    )
    expect(held.reason).toMatch(/^(Resources|Priority)$/)
    const detail = jobs(["status", held.id], { home }).stdout
    expect(detail).toMatch(/^status: +pending$/m)
    expect(detail).toMatch(/^reason: +(Resources|Priority)$/m)
    for (const job of submitted) {
      const wait = jobs(["wait", job.id, "--timeout", "60s"], { home })
      expect(wait.code, wait.stderr).toBe(0)
    }
    expect(submitted.map((j) => status(home, j.id).status)).toEqual([
      "completed",
      "completed",
      "completed",
      "completed"
    ])
  })

  it("stops a pending job (scancel) and a running one (its supervisor stops the command)", async () => {
    const home = newHome()
    const pending = run(home, ["--slurm", "--sbatch-arg=--hold", "--", "echo", "never"])
    const heldReason = await eventually(() => status(home, pending.id).reason ?? undefined, 10_000, "a reason")
    expect(heldReason).toBe("JobHeldUser")
    const stopPending = jobs(["stop", pending.id], { home })
    expect(stopPending.code, stopPending.stderr).toBe(0)
    expect(stopPending.stdout).toMatch(/stopped/)
    expect(status(home, pending.id)).toMatchObject({ status: "stopped", exitCode: null })
    expect(slurmState(pending.slurmJobId!)).toBe("CANCELLED")
    expect(types(home, pending.id)).not.toContain("Started")

    const running = run(home, [
      "--slurm",
      "--",
      "sh",
      "-c",
      'trap "echo stopping; exit 7" TERM; echo ready; sleep 300 & wait'
    ])
    await eventually(() => (jobs(["logs", running.id], { home }).stdout.includes("ready") ? true : undefined), 20_000)
    const stopRunning = jobs(["stop", running.id, "--grace", "2s"], { home })
    expect(stopRunning.code, stopRunning.stderr).toBe(0)
    expect(status(home, running.id)).toMatchObject({ status: "stopped", exitCode: 7 })
    expect(jobs(["logs", running.id], { home }).stdout).toBe("ready\nstopping\n")
    await eventually(() => (slurmState(running.slurmJobId!) === "RUNNING" ? undefined : true), 20_000)
  })

  it("records a job scancel'ed behind its back as stopped, never completed", async () => {
    const home = newHome()
    const running = run(home, ["--slurm", "--", "sleep", "300"])
    const pending = run(home, ["--slurm", "--sbatch-arg=--hold", "--", "sleep", "300"])
    await eventually(() => (status(home, running.id).status === "running" ? true : undefined), 20_000)
    ChildProcess.execFileSync("scancel", [running.slurmJobId!, pending.slurmJobId!])
    const ran = await eventually(() => {
      const s = status(home, running.id)
      return s.status === "running" ? undefined : s
    }, 20_000)
    expect(ran).toMatchObject({ status: "stopped", signal: "SIGTERM" })
    const held = status(home, pending.id)
    expect(held).toMatchObject({ status: "stopped" })
    expect(held.reason).toMatch(/Slurm ended job \d+ CANCELLED before the job started/)
    // recorded once, however many readers looked
    for (let i = 0; i < 3; i++) jobs(["list", "--all"], { home })
    expect(types(home, pending.id).filter((t) => t === "SlurmEnded")).toHaveLength(1)
    expect(jobs(["wait", pending.id], { home }).code).toBe(125)
  })

  it("maps --timeout to Slurm's --time and to the supervisor's own timeout", async () => {
    const home = newHome()
    const job = run(home, ["--slurm", "--timeout", "2s", "--grace", "1s", "--", "sleep", "300"])
    const limit = /TimeLimit=(\S+)/.exec(
      ChildProcess.execFileSync("scontrol", ["show", "job", "-o", job.slurmJobId!], { encoding: "utf8" })
    )?.[1]
    expect(limit).toBe("00:01:00")
    expect(jobs(["wait", job.id, "--timeout", "60s"], { home }).code).toBe(143)
    expect(status(home, job.id)).toMatchObject({ status: "timed-out", signal: "SIGTERM" })
  })

  it("submits --each as one job array whose elements are jobs of their own", async () => {
    const home = newHome()
    const file = Path.join(tmp.dir(), "each.txt")
    Fs.writeFileSync(file, "echo one\necho two; exit 2\necho 'three'\n")
    const r = jobs(["run", "--slurm", "--each", file, "--json"], { home })
    expect(r.code, r.stderr).toBe(0)
    const batch = json<Array<Job>>(r)
    expect(batch).toHaveLength(3)
    const arrayId = batch[0]!.slurmJobId!.split("_")[0]
    expect(batch.map((j) => j.slurmJobId)).toEqual([`${arrayId}_0`, `${arrayId}_1`, `${arrayId}_2`])
    const codes = batch.map((j) => jobs(["wait", j.id, "--timeout", "60s"], { home }).code)
    expect(codes).toEqual([0, 2, 0])
    expect(batch.map((j) => jobs(["logs", j.id], { home }).stdout)).toEqual(["one\n", "two\n", "three\n"])
  })

  it("refuses with one clear line, and writes nothing, when Slurm's tools are missing", () => {
    const home = newHome()
    const empty = tmp.dir()
    const r = jobs(["run", "--slurm", "--", "true"], { home, env: { PATH: empty } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      "Cannot run job with Slurm: sbatch, scontrol, scancel not found on PATH (Slurm's client tools, e.g. apt-get install slurm-client)\n"
    )
    expect(Fs.existsSync(home)).toBe(false)
    const each = jobs(["run", "--slurm", "--each", "-"], { home, env: { PATH: empty }, input: "true\n" })
    expect(each.code).toBe(1)
    expect(Fs.existsSync(home)).toBe(false)
  })

  it("refuses Slurm's flags without --slurm, bad values, and what Slurm does itself", () => {
    const home = newHome()
    const cases: Array<[ReadonlyArray<string>, RegExp]> = [
      [["--cpus", "2"], /^Cannot use --cpus without --slurm$/],
      [["--slurm", "--cpus", "two"], /^Cannot parse --cpus "two"/],
      [["--slurm", "--mem", "lots"], /^Cannot parse --mem "lots"/],
      [["--slurm", "--gpu", "a100:"], /^Cannot parse --gpu "a100:"/],
      [["--slurm", "--tmux"], /^Cannot use --slurm with --tmux/],
      [["--slurm", "--group", "g"], /^Cannot use --slurm with --group/]
    ]
    for (const [flags, message] of cases) {
      const r: Result = jobs(["run", ...flags, "--", "true"], { home })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trim()).toMatch(message)
    }
    expect(Fs.existsSync(Path.join(home, "jobs"))).toBe(false)
  })

  it("records Slurm's time limit as timed-out (the supervisor is told by scontrol why it got TERM)", async () => {
    const job = limited!
    const ended = await eventually(
      () => {
        const s = status(limitHome, job.id)
        return s.status === "running" || s.status === "pending" ? undefined : s
      },
      170_000,
      "Slurm's time limit"
    )
    expect(ended).toMatchObject({ status: "timed-out", signal: "SIGTERM" })
    const timedOut = readEvents(limitHome, job.id).find((e) => e.type === "TimedOut")
    expect(timedOut?.timeoutSecs).toBe(60)
    // Slurm says COMPLETING until its own cleanup is done
    await eventually(() => (slurmState(job.slurmJobId!) === "TIMEOUT" ? true : undefined), 30_000, "TIMEOUT")
  }, 200_000)
})

describe.skipIf(!can && !inCi)("a --slurm submit killed with -9", () => {
  /** `jobs run --slurm` paused at STEP (a test-only hook) and killed there; the job's id. */
  const killedAt = async (home: string, step: string, argv: ReadonlyArray<string>) => {
    const submitter = ChildProcess.spawn(process.execPath, ["--", BIN, "run", "--slurm", "--", ...argv], {
      env: { ...process.env, JOBS_HOME: home, JOBS_TEST_PAUSE: `${step}:60000` },
      stdio: "ignore"
    })
    const id = await eventually(
      () =>
        Fs.existsSync(Path.join(home, "jobs"))
          ? jobDirs(home).find((d) => !d.startsWith(".") && readEvents(home, d).some((e) => e.type === "Submitted"))
          : undefined,
      30_000,
      "the Submitted event"
    )
    // at "sbatched", Slurm has the job before the kill
    if (step === "sbatched") await new Promise((r) => setTimeout(r, 2000))
    submitter.kill("SIGKILL")
    await new Promise((resolve) => submitter.once("exit", resolve))
    return id
  }

  it("before sbatch: recorded once as never started; wait returns 125 and rm works", async () => {
    const home = newHome()
    const id = await killedAt(home, "submitted", ["true"])
    const wait = jobs(["wait", id, "--timeout", "60s"], { home })
    expect(wait.code, wait.stderr).toBe(125)
    expect(status(home, id)).toMatchObject({ status: "interrupted", slurmJobId: null })
    expect(status(home, id).reason).toMatch(/^never started/)
    expect(readEvents(home, id).filter((e) => e.type === "Interrupted")).toHaveLength(1)
    expect(jobs(["rm", id], { home }).code).toBe(0)
  })

  it("after sbatch, before its id was recorded: the job Slurm has of its name is adopted and runs to its end", async () => {
    const home = newHome()
    const id = await killedAt(home, "sbatched", ["sh", "-c", "sleep 4; exit 4"])
    const wait = jobs(["wait", id, "--timeout", "90s"], { home })
    expect(wait.code, wait.stderr).toBe(4)
    const job = status(home, id)
    expect(job).toMatchObject({ status: "failed", exitCode: 4 })
    expect(job.slurmJobId).toMatch(/^\d+$/)
    expect(readEvents(home, id).some((e) => e.type === "Interrupted")).toBe(false)
  })
})

describe.skipIf((!can || !canSsh) && !inCi)("jobs run --on W --slurm", () => {
  let server: Sshd.Sshd | undefined
  beforeAll(async () => {
    server = await Sshd.start()
  })
  afterAll(() => server?.stop())

  it("pushes the cwd, submits on the worker (a login node), mirrors events and output, and stops there", async () => {
    const home = newHome()
    const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "known_hosts"),
      `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
    )
    const remoteHome = Path.join(tmp.dir(), "remote-home")
    const add = jobs(["worker", "add", "login", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome], {
      home,
      env
    })
    expect(add.code, add.stderr).toBe(0)
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "data.txt"), "pushed data\n")
    const job = run(
      home,
      ["--on", "login", "--slurm", "--env", "K=v", "--", "sh", "-c", 'cat data.txt; echo "K=$K"; exit 3'],
      {
        cwd: project,
        env
      }
    )
    expect(job).toMatchObject({ executor: "slurm", worker: "login" })
    expect(job.slurmJobId).toMatch(/^\d+$/)
    const wait = jobs(["wait", job.id, "--timeout", "60s"], { home, env })
    expect(wait.code, wait.stderr).toBe(3)
    expect(jobs(["logs", job.id], { home, env }).stdout).toBe("pushed data\nK=v\n")
    expect(status(home, job.id, env)).toMatchObject({ status: "failed", exitCode: 3, slurmJobId: job.slurmJobId })
    const kinds = types(home, job.id)
    expect(kinds.filter((t) => t === "Started")).toHaveLength(1)
    expect(kinds.filter((t) => t === "Exited")).toHaveLength(1)
    expect(kinds).toContain("SlurmSubmitted")

    const held = run(home, ["--on", "login", "--slurm", "-n", "--sbatch-arg=--hold", "--", "true"], { env })
    expect(await eventually(() => status(home, held.id, env).reason ?? undefined, 10_000)).toBe("JobHeldUser")
    const stop = jobs(["stop", held.id], { home, env })
    expect(stop.code, stop.stderr).toBe(0)
    expect(status(home, held.id, env)).toMatchObject({ status: "stopped" })
    expect(slurmState(held.slurmJobId!)).toBe("CANCELLED")
  })
})
