// A job that could not be started is `failed-to-start` with its reason, never `interrupted` (issue 16 §3); where
// the failure is knowable at submit (a command not found on this machine, no GPU API key), `run` refuses at once
// with exit 2 and one line, and writes nothing.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { jobs, json, type Result } from "../support/cli.ts"
import { jobDirs, readEvents, scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

type Job = { id: string; shortId: string; status: string; reason: string | null; exitCode: number | null }
const oneLine = (r: Result) => expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1)

describe("a command this machine cannot run", () => {
  it("is refused at submit (exit 2, one line, nothing written), for a program, a path and under tmux", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    for (const command of [["nosuchcmd_xyz", "--flag"], ["./missing.sh"], ["/nonexistent/bin/x"], ["bin/tool"]]) {
      const r = jobs(["run", "--", ...command], { home, cwd })
      expect(r.code, `${command}: ${r.stderr}`).toBe(2)
      oneLine(r)
      expect(r.stderr).toMatch(/^Cannot run job: /)
      expect(r.stderr).toContain(command[0]!)
    }
    const tmux = jobs(["run", "--tmux", "--", "nosuchcmd_xyz"], { home, cwd })
    expect(tmux.code).toBe(2)
    // a folder is not a program either
    Fs.mkdirSync(Path.join(cwd, "adir"))
    expect(jobs(["run", "--", "./adir"], { home, cwd }).code).toBe(2)
    // a PATH given with --env is the one searched (the job runs with it)
    expect(jobs(["run", "--env", "PATH=/nonexistent", "--", "true"], { home, cwd }).code).toBe(2)
    expect(jobDirs(home)).toEqual([])
  })

  it("runs what is there: ./x in the cwd (or --cwd), an absolute path, a PATH program, and a shell line", () => {
    const home = tmp.home()
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "go.sh"), "#!/bin/sh\necho went\n", { mode: 0o755 })
    const ok = (args: ReadonlyArray<string>, cwd = tmp.dir()) => {
      const r = jobs(["run", "--json", ...args], { home, cwd })
      expect(r.code, r.stderr).toBe(0)
      return json<Job>(r)
    }
    const relative = ok(["--", "./go.sh"], project)
    const viaCwd = ok(["--cwd", project, "--", "./go.sh"])
    const absolute = ok(["--", Path.join(project, "go.sh")])
    const shell = ok(["--", "sh", "-c", "nosuchcmd_xyz"])
    for (const job of [relative, viaCwd, absolute]) {
      expect(jobs(["wait", job.id], { home }).code).toBe(0)
      expect(jobs(["logs", job.id], { home }).stdout).toBe("went\n")
    }
    // a shell line is the shell's business: it ran, and failed with the shell's 127
    expect(jobs(["wait", shell.id], { home }).code).toBe(127)
  })
})

describe("a worker that cannot be reached at submit", () => {
  it("ends failed-to-start with its reason: wait says 125, list filters it, rm removes it", () => {
    const home = tmp.home()
    Fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    Fs.writeFileSync(
      Path.join(home, "workers.yaml"),
      '- name: "down"\n  connection: "root@127.0.0.1:1"\n  remote_home: "~/.jobs"\n  default: "true"\n',
      { mode: 0o600 }
    )
    const r = jobs(["run", "--on", "down", "-n", "--", "true"], { home })
    expect(r.code).toBe(1)
    oneLine(r)
    expect(r.stderr).toMatch(/^Cannot start job /)
    const [id] = jobDirs(home)
    expect(id).toBeDefined()
    expect(readEvents(home, id!).map((e) => e.type)).toEqual(["Submitted", "FailedToStart"])
    const job = json<Job>(jobs(["status", id!, "--json"], { home }))
    expect(job.status).toBe("failed-to-start")
    expect(job.reason).not.toBeNull()
    const wait = jobs(["wait", id!], { home })
    expect(wait.code).toBe(125)
    expect(wait.stdout).toContain("failed-to-start")
    const listed = json<Array<Job>>(jobs(["list", "--all", "--status", "failed-to-start", "--json"], { home }))
    expect(listed.map((j) => j.id)).toEqual([id])
    expect(json<Array<Job>>(jobs(["list", "--all", "--status", "interrupted", "--json"], { home }))).toEqual([])
    expect(jobs(["list", "--all"], { home }).stdout).toMatch(/failed-to-start/)
    const summary = json<{ counts: Record<string, number> }>(jobs(["status", "--json"], { home }))
    expect(summary.counts["failed-to-start"]).toBe(1)
    expect(jobs(["rm", id!], { home }).code).toBe(0)
    expect(jobDirs(home)).toEqual([])
  })
})

describe("a GPU job without an API key", () => {
  it("is refused at submit: exit 2, one line naming the variables, nothing written", () => {
    const home = tmp.home()
    const r = jobs(["run", "--gpu", "A100", "-n", "--", "true"], {
      home,
      cwd: tmp.dir(),
      env: { RUNPOD_API_KEY: undefined, LAMBDA_API_KEY: undefined, VAST_API_KEY: undefined }
    })
    expect(r.code, r.stderr).toBe(2)
    oneLine(r)
    expect(r.stderr).toMatch(/^Cannot run job on a GPU: no API key is set \(.*RUNPOD_API_KEY/)
    expect(jobDirs(home)).toEqual([])
  })
})
