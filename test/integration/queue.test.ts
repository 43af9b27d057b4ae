// The queue without a daemon, with real processes: parallel limits, priority then FIFO order, pause and resume,
// dependencies, cancelling a waiting job, and waiters or supervisors killed with -9 never blocking the queue.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { eventually, jobs, json } from "../support/cli.ts"
import { readEvents, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly reason: string | null
  readonly position: number | null
  readonly group: string | null
}

const run = (home: string, args: ReadonlyArray<string>) => {
  const r = jobs(["run", "--json", ...args], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}
const status = (home: string, id: string) => json<JobJson>(jobs(["status", id, "--json"], { home }))
const queued = (home: string, id: string) =>
  eventually(() => readEvents(home, id).find((e) => e.type === "Queued"), 10_000, `Queued of ${id}`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("queue groups", () => {
  it("never runs more than --parallel jobs at once, starts them by priority then FIFO, and completes them all", async () => {
    const home = tmp.home()
    const trace = Path.join(tmp.dir(), "trace")
    expect(jobs(["group", "set", "g", "--parallel", "2"], { home }).code).toBe(0)
    // paused while submitting, so that all 20 wait together and the order is the queue's alone
    expect(jobs(["group", "pause", "g"], { home }).code).toBe(0)
    const priorities = [0, 0, 0, 5, 0, 0, 0, 0, 9, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 1]
    const submitted = priorities.map((priority, i) =>
      run(home, [
        "--group",
        "g",
        "--priority",
        String(priority),
        "--name",
        `j${i}`,
        "--",
        "sh",
        "-c",
        `echo "start j${i} $(date +%s%N)" >> '${trace}'; sleep 0.3; echo "end j${i} $(date +%s%N)" >> '${trace}'`
      ])
    )
    await Promise.all(submitted.map((j) => queued(home, j.id)))
    await sleep(800)
    // paused: nothing started, and the list shows places in the queue
    expect(Fs.existsSync(trace)).toBe(false)
    expect(status(home, submitted[8]!.id)).toMatchObject({ status: "pending", position: 1, group: "g" })
    expect(jobs(["group", "resume", "g"], { home }).code).toBe(0)
    for (const j of submitted) expect(jobs(["wait", j.id, "--timeout", "60s"], { home }).code).toBe(0)

    const lines = Fs.readFileSync(trace, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
    // at most 2 between a start and its end, at every moment
    let running = 0
    let most = 0
    for (const [what] of [...lines].sort((a, b) => Number(BigInt(a[2]!) - BigInt(b[2]!)))) {
      running += what === "start" ? 1 : -1
      most = Math.max(most, running)
    }
    expect(most).toBeLessThanOrEqual(2)
    expect(most).toBe(2)
    // the expected order: priority (higher first), then submit order; two free slots may swap neighbours
    const expected = priorities
      .map((p, i) => ({ p, i }))
      .sort((a, b) => b.p - a.p || a.i - b.i)
      .map(({ i }) => `j${i}`)
    const actual = lines.filter(([what]) => what === "start").map(([, name]) => name!)
    expect(actual.length).toBe(20)
    for (const name of expected) {
      expect(
        Math.abs(actual.indexOf(name) - expected.indexOf(name)),
        `${name} in ${actual.join(" ")}`
      ).toBeLessThanOrEqual(1)
    }
  })

  it("cancels a waiting job with stop, and wait returns for it", async () => {
    const home = tmp.home()
    jobs(["group", "set", "one", "--parallel", "1"], { home })
    const blocker = run(home, ["--group", "one", "--", "sleep", "30"])
    await started(home, blocker.id)
    const waiting = run(home, ["--group", "one", "--", "sh", "-c", "echo ran"])
    await queued(home, waiting.id)
    expect(status(home, waiting.id).status).toBe("pending")
    expect(jobs(["stop", waiting.id], { home }).code).toBe(0)
    expect(status(home, waiting.id).status).toBe("stopped")
    expect(jobs(["wait", waiting.id], { home }).code).toBe(125)
    expect(jobs(["logs", waiting.id], { home }).stdout).toBe("")
    jobs(["stop", blocker.id, "--grace", "1s"], { home })
  })

  it("keeps moving when a waiter or a running job's supervisor is killed with -9", async () => {
    const home = tmp.home()
    jobs(["group", "set", "k", "--parallel", "1"], { home })
    const first = run(home, ["--group", "k", "--", "sleep", "30"])
    const s = await started(home, first.id)
    const doomed = run(home, ["--group", "k", "--", "true"])
    const q = await queued(home, doomed.id)
    const last = run(home, ["--group", "k", "--", "sh", "-c", "echo last ran"])
    await queued(home, last.id)
    // the waiter of the second job dies: it is interrupted and frees its place
    process.kill(q.supervisorPid, "SIGKILL")
    await eventually(() => (status(home, doomed.id).status === "interrupted" ? true : undefined), 10_000, "interrupted")
    // the supervisor of the running job dies: its slot is taken back, and the last job runs
    process.kill(s.supervisorPid, "SIGKILL")
    expect(jobs(["wait", last.id, "--timeout", "30s"], { home }).code).toBe(0)
    expect(jobs(["logs", last.id], { home }).stdout).toBe("last ran\n")
    expect(status(home, first.id).status).toBe("interrupted")
    jobs(["stop", first.id, "--grace", "1s"], { home })
  })
})

describe("dependencies", () => {
  it("runs a chain of 5 in order", async () => {
    const home = tmp.home()
    const out = Path.join(tmp.dir(), "chain")
    let previous: JobJson | undefined
    const chain: Array<JobJson> = []
    for (let i = 1; i <= 5; i++) {
      const job = run(home, [
        ...(previous === undefined ? [] : ["--after", previous.shortId]),
        "--",
        "sh",
        "-c",
        `sleep 0.2; echo ${i} >> '${out}'`
      ])
      chain.push(job)
      previous = job
    }
    expect(jobs(["wait", chain[4]!.id, "--timeout", "60s"], { home }).code).toBe(0)
    expect(Fs.readFileSync(out, "utf8")).toBe("1\n2\n3\n4\n5\n")
  })

  it("fails a job whose dependency failed, without running it; --after-any runs it anyway", async () => {
    const home = tmp.home()
    const marker = Path.join(tmp.dir(), "ran")
    const failing = run(home, ["--", "sh", "-c", "sleep 0.3; exit 4"])
    const dependent = run(home, ["--after", failing.id, "--", "touch", marker])
    const anyway = run(home, ["--after-any", failing.id, "--", "echo", "anyway"])
    expect(jobs(["wait", dependent.id], { home }).code).toBe(125)
    const job = status(home, dependent.id)
    expect(job.status).toBe("failed")
    expect(job.reason).toMatch(/^dependency failed/)
    expect(Fs.existsSync(marker)).toBe(false)
    expect(jobs(["wait", anyway.id], { home }).code).toBe(0)
    expect(jobs(["logs", anyway.id], { home }).stdout).toBe("anyway\n")
  })

  it("refuses --after an unknown job at submit, with nothing written", () => {
    const home = tmp.home()
    const r = jobs(["run", "--after", "nosuchjob", "--", "true"], { home })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Cannot run after job "nosuchjob": no such job\n$/)
    expect(json<Array<unknown>>(jobs(["list", "--all", "--json"], { home }))).toEqual([])
  })
})

describe("completion hooks", () => {
  it("run with the job's id, status, exit code and name; a failing hook changes nothing", async () => {
    const home = tmp.home()
    Fs.mkdirSync(home, { recursive: true })
    const out = Path.join(tmp.dir(), "hooks")
    Fs.writeFileSync(Path.join(home, "config.yaml"), `on_done: "echo config $JOBS_STATUS >> '${out}'"\n`)
    const hook = `echo "job $JOBS_ID $JOBS_STATUS $JOBS_EXIT_CODE $JOBS_NAME $SECRET" >> '${out}'; exit 7`
    const job = run(home, ["--name", "hooked", "--env", "SECRET=s3", "--on-done", hook, "--", "sh", "-c", "exit 3"])
    expect(jobs(["wait", job.id], { home }).code).toBe(3)
    const ran = await eventually(
      () => {
        const hooks = readEvents(home, job.id).filter((e) => e.type === "HookRan")
        return hooks.length === 2 ? hooks : undefined
      },
      10_000,
      "both hooks"
    )
    expect(ran.map((e) => [e.hook, e.exitCode])).toEqual([
      ["job", 7],
      ["config", 0]
    ])
    expect(Fs.readFileSync(out, "utf8")).toBe(`job ${job.id} failed 3 hooked s3\nconfig failed\n`)
    expect(status(home, job.id)).toMatchObject({ status: "failed" })
  })

  it("fire the group's hook once, when its last queued job has ended", async () => {
    const home = tmp.home()
    const out = Path.join(tmp.dir(), "group-done")
    expect(
      jobs(["group", "set", "batch", "--parallel", "2", "--on-done", `echo "done $JOBS_GROUP" >> '${out}'`], { home })
        .code
    ).toBe(0)
    // none ends before the last is queued (on a loaded machine a submit can take longer than a job): they wait for go
    const go = Path.join(tmp.dir(), "go")
    const all = [0.2, 0.5, 0.3, 0.6].map((secs) =>
      run(home, [
        "--group",
        "batch",
        "--",
        "sh",
        "-c",
        'while [ ! -e "$0" ]; do sleep 0.05; done; sleep $1',
        go,
        String(secs)
      ])
    )
    Fs.writeFileSync(go, "")
    for (const j of all) jobs(["wait", j.id], { home })
    await eventually(() => (Fs.existsSync(out) ? true : undefined), 10_000, "the group hook")
    await sleep(500)
    expect(Fs.readFileSync(out, "utf8")).toBe("done batch\n")
  })
})

describe("jobs run --each", () => {
  it("submits one job per line in one process, sharing the flags", async () => {
    const home = tmp.home()
    const file = Path.join(tmp.dir(), "lines")
    const lines = Array.from({ length: 60 }, (_, i) => `echo "item ${i}" | tr a-z A-Z`)
    Fs.writeFileSync(file, `# a comment\n\n${lines.join("\n")}\n`)
    jobs(["group", "set", "each", "--parallel", "8"], { home })
    const r = jobs(["run", "--each", file, "--group", "each", "--name", "batch", "--json"], { home })
    expect(r.code, r.stderr).toBe(0)
    const batch = json<Array<JobJson & { existing: boolean; command: Array<string> }>>(r)
    expect(batch).toHaveLength(60)
    expect(batch[7]).toMatchObject({ group: "each", existing: false, command: ["sh", "-c", lines[7]] })
    for (const j of batch) expect(jobs(["wait", j.id, "--timeout", "60s"], { home }).code).toBe(0)
    expect(jobs(["logs", "batch-8"], { home }).stdout).toBe("ITEM 7\n")
    // from stdin too
    const piped = jobs(["run", "--each", "-"], { home, input: "echo one\necho two\n" })
    expect(piped.stdout.trim().split("\n")).toHaveLength(2)
  })

  it("refuses --each with a command, or with an idempotency key", () => {
    const home = tmp.home()
    const both = jobs(["run", "--each", "-", "--", "echo", "x"], { home, input: "echo a\n" })
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/^Cannot run a command and --each at once/)
    const keyed = jobs(["run", "--each", "-", "--key", "k"], { home, input: "echo a\n" })
    expect(keyed.code).toBe(2)
    expect(json<Array<unknown>>(jobs(["list", "--all", "--json"], { home }))).toEqual([])
  })
})

describe("retention", () => {
  it("clean keeps what config.yaml's keep: says unless told otherwise, and filters by group", async () => {
    const home = tmp.home()
    const old = run(home, ["--group", "a", "--", "true"])
    const other = run(home, ["--group", "b", "--", "true"])
    for (const j of [old, other]) jobs(["wait", j.id], { home })
    Fs.writeFileSync(Path.join(home, "config.yaml"), "keep: 1h\n")
    // both ended just now: within the kept hour
    expect(json<Array<unknown>>(jobs(["clean", "--all", "--json"], { home }))).toEqual([])
    const byGroup = json<Array<JobJson>>(
      jobs(["clean", "--all", "--older-than", "0s", "--group", "a", "--json"], { home })
    )
    expect(byGroup.map((j) => j.id)).toEqual([old.id])
    expect(json<Array<JobJson>>(jobs(["list", "--all", "--json"], { home })).map((j) => j.id)).toEqual([other.id])
  })
})

describe("output limits", () => {
  it("keeps the head in output.log and the latest output beside it, with an event, past --max-log-size", async () => {
    const home = tmp.home()
    const job = run(home, [
      "--max-log-size",
      "2K",
      "--",
      "sh",
      "-c",
      'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done'
    ])
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    const dir = Path.join(home, "jobs", job.id)
    const head = Fs.readFileSync(Path.join(dir, "output.log"), "utf8")
    expect(head.length).toBe(2048)
    expect(head.startsWith("line 0\nline 1\n")).toBe(true)
    const tails = Fs.readdirSync(dir)
      .filter((f) => f.startsWith("output.tail."))
      .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)))
    expect(tails.length).toBeGreaterThan(0)
    expect(tails.length).toBeLessThanOrEqual(2)
    const latest = tails.map((f) => Fs.readFileSync(Path.join(dir, f), "utf8")).join("")
    expect(latest.endsWith("line 1999\n")).toBe(true)
    const truncated = readEvents(home, job.id).filter((e) => e.type === "OutputTruncated")
    expect(truncated).toHaveLength(1)
    expect(truncated[0]).toMatchObject({ keptBytes: 2048 })
  })

  const mountable = (() => {
    const probe = tmp.dir()
    const r = ChildProcess.spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])
    if (r.status === 0) ChildProcess.spawnSync("umount", [probe])
    return r.status === 0
  })()
  if (!mountable && process.env.CI === undefined)
    console.warn("SKIPPING the full-disk test: mounting a tmpfs needs root")

  it.skipIf(!mountable && process.env.CI === undefined)(
    "lets a job writing to a full disk finish, drops the output, says so, and records its exit code",
    async () => {
      const mnt = tmp.dir()
      expect(ChildProcess.spawnSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt]).status).toBe(0)
      try {
        const home = Path.join(mnt, "home")
        const job = run(home, ["--", "sh", "-c", 'head -c 3000000 /dev/zero | tr "\\0" x; echo; echo done; exit 3'])
        expect(jobs(["wait", job.id, "--timeout", "60s"], { home }).code).toBe(3)
        expect(status(home, job.id).status).toBe("failed")
        const events = readEvents(home, job.id)
        expect(events.find((e) => e.type === "OutputDropped")).toMatchObject({
          reason: expect.stringMatching(/^writing output\.log failed \(exit 1: disk full\?\)/)
        })
        expect(events.find((e) => e.type === "Exited")).toMatchObject({ code: 3, signal: null })
      } finally {
        ChildProcess.spawnSync("umount", ["-l", mnt])
      }
    }
  )
})
