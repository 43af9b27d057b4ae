// What users type into `jobs`: bad input gets one line on stderr and the right exit code; arguments and environment
// values reach the command byte for byte and never leak into the event log; and the everyday subcommands.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, jobsAsync, json, type Result, type RunOptions } from "../support/cli.ts"
import { eventsPath, groupGone, jobDir, jobDirs, readEvents, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly command: ReadonlyArray<string>
  readonly exitCode: number | null
  readonly retryOf: string | null
  readonly existing?: boolean
}

/**
 * `jobs ARGS` that is killed after `ms` (a hang must fail the test, not the suite). It runs the bin itself, through
 * its shebang, as a user's shell does.
 */
const jobsWithin = (ms: number, args: ReadonlyArray<string>, options: RunOptions): Result => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_EXTRA_CA_CERTS
  if (options.home !== undefined) env.JOBS_HOME = options.home
  const r = ChildProcess.spawnSync(BIN, args, {
    cwd: options.cwd ?? tmp.dir(),
    env,
    input: "",
    encoding: "utf8",
    timeout: ms,
    killSignal: "SIGKILL"
  })
  const stderr = r.signal === null ? r.stderr : `${r.stderr}[killed by ${r.signal} after ${ms} ms: it hung]`
  return { code: r.status ?? 128 + 9, stdout: r.stdout, stderr }
}

/** The user-facing shape of every error: one line on stderr, nothing on stdout, no stack trace. */
const expectOneLineError = (r: Result, code: number) => {
  expect(r.code, `stderr: ${r.stderr}`).toBe(code)
  expect(r.stdout).toBe("")
  expect(r.stderr.endsWith("\n"), JSON.stringify(r.stderr)).toBe(true)
  expect(r.stderr.trimEnd().split("\n"), r.stderr).toHaveLength(1)
  expect(r.stderr).not.toMatch(/^\s+at |Error:|\{\s*$/m)
}

const runJson = (args: ReadonlyArray<string>, options: RunOptions): JobJson => {
  const r = jobs(["run", "--json", ...args], options)
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}

describe("bad input", () => {
  const file = Path.join(tmp.dir(), "a-file")
  Fs.writeFileSync(file, "not a directory\n")
  const envFile = Path.join(tmp.dir(), "missing.env")

  it.each<{ what: string; args: ReadonlyArray<string>; code: number; starts?: string }>([
    { what: "an unknown id", args: ["status", "nope1234"], code: 1, starts: "Cannot find job" },
    { what: "an unknown id (logs)", args: ["logs", "nope1234"], code: 1, starts: "Cannot" },
    { what: "an empty command", args: ["run", "--"], code: 2, starts: "Cannot" },
    { what: "no command at all", args: ["run"], code: 2, starts: "Cannot" },
    { what: "a bad duration", args: ["run", "--timeout", "5x", "--", "echo", "hi"], code: 2, starts: "Cannot" },
    { what: "a bad grace", args: ["run", "--grace", "soon", "--", "echo", "hi"], code: 2, starts: "Cannot" },
    { what: "an unknown flag before --", args: ["run", "--bogus", "--", "echo", "hi"], code: 2, starts: "Cannot" },
    { what: "a flag missing its value", args: ["run", "--name"], code: 2, starts: "Cannot" },
    { what: "--home missing its value", args: ["status", "--home"], code: 2, starts: "Cannot" },
    { what: "a bad env name", args: ["run", "--env", "1BAD=x", "--", "echo", "hi"], code: 2, starts: "Cannot" },
    { what: "a missing env file", args: ["run", "--env-file", envFile, "--", "echo", "hi"], code: 2, starts: "Cannot" },
    {
      what: "a cwd that does not exist",
      args: ["run", "--cwd", "/nonexistent/dir", "--", "true"],
      code: 2,
      starts: "Cannot"
    },
    { what: "an unknown status filter", args: ["list", "--status", "sleeping"], code: 2, starts: "Cannot" },
    { what: "the wizard without a terminal", args: ["--wizard"], code: 2, starts: "Cannot start the wizard" },
    { what: "a file as home", args: ["--home", file, "run", "--", "echo", "hi"], code: 1, starts: "Cannot" },
    { what: "a home under /proc", args: ["--home", "/proc/nope", "run", "--", "echo", "hi"], code: 1, starts: "Cannot" }
  ])("rejects $what ($args) with exit $code, one line, and no job", ({ args, code, starts }) => {
    const home = tmp.home()
    const r = jobsWithin(10_000, args, { home })
    expectOneLineError(r, code)
    if (starts !== undefined) expect(r.stderr.startsWith(starts), r.stderr).toBe(true)
    expect(jobDirs(home)).toEqual([])
  })

  it("rejects an ambiguous id prefix, listing the candidates", () => {
    const home = tmp.home()
    const a = runJson(["--", "true"], { home })
    const b = runJson(["--", "true"], { home })
    // ULIDs made moments apart share their leading (time) characters
    let common = 0
    while (a.id[common] === b.id[common]) common++
    expect(common).toBeGreaterThanOrEqual(6)
    const prefix = a.id.slice(0, 6).toLowerCase()

    const r = jobs(["status", prefix], { home })
    expectOneLineError(r, 1)
    expect(r.stderr).toMatch(/^Cannot /)
    expect(r.stderr).toContain(a.shortId)
    expect(r.stderr).toContain(b.shortId)
    expect(jobDirs(home).sort()).toEqual([a.id, b.id].sort())

    // an unambiguous prefix of a short id still works
    const ok = jobs(["status", a.shortId.slice(0, 6), "--json"], { home })
    if (!b.shortId.startsWith(a.shortId.slice(0, 6))) expect(json<JobJson>(ok).id).toBe(a.id)
  })
})

describe("arguments", () => {
  it("reach the command byte for byte, with no shell in between", () => {
    const home = tmp.home()
    const args = [
      "two words",
      "it's",
      '"double"',
      "$HOME",
      "back\\slash\\n",
      "new\nline",
      "ü 日本 🎉",
      "",
      "*",
      "tab\there",
      "; echo pwned",
      "$(id)"
    ]
    const script = "process.stdout.write(JSON.stringify(process.argv.slice(1)))"
    const job = runJson(["--", process.execPath, "-e", script, ...args], { home })
    expect(job.command).toEqual([process.execPath, "-e", script, ...args])
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    const logs = jobs(["logs", job.id], { home })
    expect(logs.code, logs.stderr).toBe(0)
    expect(JSON.parse(logs.stdout)).toEqual(args)
  })
})

describe("environment", () => {
  it("passes --env K=V, --env K and --env-file values to the job and keeps them out of the event log", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const a = "alpha-s3cret 'quoted' $HOME\nsecond line"
    const b = "beta-s3cret-\u00fc"
    const c = "gamma-s3cret"
    Fs.writeFileSync(Path.join(cwd, "job.env"), `# settings\nJOB_C=${c}\nexport JOB_D="delta-s3cret"\n`)
    const job = runJson(
      [
        "--env",
        `JOB_A=${a}`,
        "--env",
        "JOB_B",
        "--env-file",
        "job.env",
        "--",
        "sh",
        "-c",
        'printf "%s|%s|%s|%s" "$JOB_A" "$JOB_B" "$JOB_C" "$JOB_D"'
      ],
      { home, cwd, env: { JOB_B: b } }
    )
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    expect(jobs(["logs", job.id], { home }).stdout).toBe(`${a}|${b}|${c}|delta-s3cret`)

    const events = Fs.readFileSync(eventsPath(home, job.id), "utf8")
    const printed = jobs(["events", job.id], { home }).stdout + jobs(["status", job.id, "--json"], { home }).stdout
    for (const secret of ["alpha-s3cret", "beta-s3cret", "gamma-s3cret", "delta-s3cret"]) {
      expect(events).not.toContain(secret)
      expect(printed).not.toContain(secret)
    }

    const mode = (p: string) => Fs.statSync(p).mode & 0o777
    expect(mode(home)).toBe(0o700)
    expect(mode(jobDir(home, job.id))).toBe(0o700)
    expect(mode(Path.join(jobDir(home, job.id), "env"))).toBe(0o600)
    expect(mode(eventsPath(home, job.id))).toBe(0o600)
    expect(mode(Path.join(jobDir(home, job.id), "output.log"))).toBe(0o600)
  })

  it("refuses --env K when K is not set", () => {
    const home = tmp.home()
    const r = jobs(["run", "--env", "JOBS_TEST_UNSET", "--", "true"], { home, env: { JOBS_TEST_UNSET: undefined } })
    expectOneLineError(r, 2)
    expect(jobDirs(home)).toEqual([])
  })
})

describe("--json", () => {
  it("prints one object for run, an array for list, and a summary object for status", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const run = jobs(["run", "--json", "--", "true"], { home, cwd })
    expect(run.code, run.stderr).toBe(0)
    const job = json<JobJson>(run)
    expect(Array.isArray(job)).toBe(false)
    expect(job).toMatchObject({ existing: false, command: ["true"] })
    expect(job.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(job.shortId).toBe(job.id.slice(-8).toLowerCase())
    expect(jobs(["wait", job.id], { home }).code).toBe(0)

    const list = json<Array<JobJson>>(jobs(["list", "--json"], { home, cwd }))
    expect(Array.isArray(list)).toBe(true)
    expect(list).toMatchObject([{ id: job.id, status: "completed" }])

    const summary = json<{ total: number; counts: Record<string, number> }>(jobs(["status", "--json"], { home, cwd }))
    expect(Array.isArray(summary)).toBe(false)
    expect(summary.total).toBe(1)
    expect(summary.counts).toMatchObject({ completed: 1, running: 0, failed: 0 })
  })
})

describe("subcommands", () => {
  it("logs -f prints every line of a running job and exits 0 once the job has ended", async () => {
    const home = tmp.home()
    const job = runJson(["--", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.2; done"], { home })
    const follow = await jobsAsync(["logs", "-f", job.id], { home })
    expect(follow.code, follow.stderr).toBe(0)
    expect(follow.stdout).toBe(Array.from({ length: 10 }, (_, i) => `line ${i + 1}\n`).join(""))
    // it returned because the job had ended
    expect(readEvents(home, job.id).some((e) => e.type === "Exited")).toBe(true)
  })

  it("retry makes a new job linked by retryOf, with the same command and environment", () => {
    const home = tmp.home()
    const first = runJson(["--env", "RETRY_VALUE=from-the-first-run", "--", "sh", "-c", 'printf %s "$RETRY_VALUE"'], {
      home
    })
    expect(jobs(["wait", first.id], { home }).code).toBe(0)

    const r = jobs(["retry", first.id, "--json"], { home, env: { RETRY_VALUE: undefined } })
    expect(r.code, r.stderr).toBe(0)
    const second = json<JobJson>(r)
    expect(second.id).not.toBe(first.id)
    expect(second).toMatchObject({ retryOf: first.id, command: first.command })
    expect(jobs(["wait", second.id], { home }).code).toBe(0)
    expect(jobs(["logs", second.id], { home }).stdout).toBe("from-the-first-run")
    expect(jobDirs(home).sort()).toEqual([first.id, second.id].sort())
  })

  it("rm refuses a running job, and --force kills and removes it", async () => {
    const home = tmp.home()
    const job = runJson(["--", "sleep", "300"], { home })
    const { pgid } = await started(home, job.id)

    const refused = jobs(["rm", job.id], { home })
    expectOneLineError(refused, 1)
    expect(refused.stderr).toMatch(/^Cannot /)
    expect(jobDirs(home)).toEqual([job.id])
    expect(json<JobJson>(jobs(["status", job.id, "--json"], { home })).status).toBe("running")

    const forced = jobs(["rm", "--force", job.id], { home })
    expect(forced.code, forced.stderr).toBe(0)
    expect(jobDirs(home)).toEqual([])
    await groupGone(pgid)
  })

  it("clean removes ended jobs and leaves running ones", async () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const done = runJson(["--", "true"], { home, cwd })
    const failed = runJson(["--", "false"], { home, cwd })
    const running = runJson(["--", "sleep", "300"], { home, cwd })
    expect(jobs(["wait", done.id], { home }).code).toBe(0)
    expect(jobs(["wait", failed.id], { home }).code).toBe(1)
    await started(home, running.id)

    const clean = jobs(["clean"], { home, cwd })
    expect(clean.code, clean.stderr).toBe(0)
    expect(jobDirs(home)).toEqual([running.id])
    expect(json<JobJson>(jobs(["status", running.id, "--json"], { home })).status).toBe("running")
    expect(jobs(["rm", "--force", running.id], { home }).code).toBe(0)
  })

  it("list shows the current directory's project unless --all", async () => {
    const home = tmp.home()
    const here = tmp.dir()
    const there = tmp.dir()
    const a = runJson(["--", "true"], { home, cwd: here })
    const b = runJson(["--", "true"], { home, cwd: there })
    await eventually(() => (readEvents(home, b.id).some((e) => e.type === "Exited") ? true : undefined))

    const ids = (r: Result) => json<Array<JobJson>>(r).map((j) => j.id)
    expect(ids(jobs(["list", "--json"], { home, cwd: here }))).toEqual([a.id])
    expect(ids(jobs(["list", "--json"], { home, cwd: there }))).toEqual([b.id])
    expect(ids(jobs(["list", "--all", "--json"], { home, cwd: here })).sort()).toEqual([a.id, b.id].sort())

    const table = jobs(["list"], { home, cwd: here })
    expect(table.code).toBe(0)
    expect(table.stdout).toContain(a.shortId)
    expect(table.stdout).not.toContain(b.shortId)
  })
})
