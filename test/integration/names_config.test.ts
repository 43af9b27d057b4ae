// Names, keys, config and terminals as a user expects them (issue 16 §7): a name is the newest job of that name,
// a key reused for another command is refused, a config value that does not parse is refused (never read as
// "nothing"), attaching without a terminal is refused at once, and `pull ... DEST/` fills the folder DEST.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, jobs, json, type Result } from "../support/cli.ts"
import { jobDirs, scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
if (!hasTmux && !inCi) console.warn("SKIPPING the tmux attach test: tmux is not installed")
const canSsh = Sshd.available() && ChildProcess.spawnSync("rsync", ["--version"]).status === 0
if (!canSsh && !inCi) console.warn("SKIPPING the worker tests of names_config: install openssh-server and rsync")

let server: Sshd.Sshd | undefined
beforeAll(async () => {
  if (canSsh || inCi) server = await Sshd.start()
})
afterAll(() => {
  server?.stop()
  tmp.cleanup()
})

type Job = { id: string; shortId: string; name: string | null; status: string; existing?: boolean }
const run = (home: string, args: ReadonlyArray<string>): Job => {
  const r = jobs(["run", "--json", ...args], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<Job>(r)
}
const oneLine = (r: Result) => expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1)

describe("a name refers to the newest job of that name", () => {
  it("after retry and a second run --name: status, logs, wait, rm by name; older ones as name~1, name~2", () => {
    const home = tmp.home()
    const first = run(home, ["--name", "train", "--", "sh", "-c", "echo one"])
    expect(jobs(["wait", "train"], { home }).code).toBe(0)
    const retried = json<Job>(jobs(["retry", "train", "--json"], { home }))
    expect(jobs(["wait", "train"], { home }).code).toBe(0)
    const third = run(home, ["--name", "train", "--", "sh", "-c", "echo three; exit 3"])

    const waited = jobs(["wait", "train"], { home })
    expect(waited.code, waited.stderr).toBe(3)
    expect(json<Job>(jobs(["status", "train", "--json"], { home })).id).toBe(third.id)
    expect(jobs(["logs", "train"], { home }).stdout).toBe("three\n")
    expect(json<Job>(jobs(["status", "train~1", "--json"], { home })).id).toBe(retried.id)
    expect(json<Job>(jobs(["status", "train~2", "--json"], { home })).id).toBe(first.id)
    const none = jobs(["status", "train~3"], { home })
    expect(none.code).toBe(1)
    oneLine(none)

    // rm by name removes the newest; the name then means the one before it
    const rm = jobs(["rm", "train"], { home })
    expect(rm.code, rm.stderr).toBe(0)
    expect(jobDirs(home)).not.toContain(third.id)
    expect(json<Job>(jobs(["status", "train", "--json"], { home })).id).toBe(retried.id)
    expect(jobs(["logs", "train"], { home }).stdout).toBe("one\n")
  })
})

describe("jobs run --key", () => {
  it("refuses a key reused with another command, cwd or executor; the same request returns the job", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const first = run(home, ["--key", "k", "--cwd", cwd, "--", "echo", "a"])
    const same = run(home, ["--key", "k", "--cwd", cwd, "--", "echo", "a"])
    expect(same).toMatchObject({ id: first.id, existing: true })
    for (const other of [
      ["--cwd", cwd, "--", "echo", "b"],
      ["--cwd", tmp.dir(), "--", "echo", "a"],
      ["--cwd", cwd, "--tmux", "--", "echo", "a"]
    ]) {
      const r = jobs(["run", "--key", "k", ...other], { home })
      expect(r.code, r.stderr).toBe(2)
      oneLine(r)
      expect(r.stderr).toMatch(new RegExp(`^Cannot reuse key "k": it names job ${first.shortId}, which runs`))
    }
    expect(jobDirs(home)).toEqual([first.id])
  })
})

describe("config.yaml", () => {
  it("a value that does not parse is refused with its key, file and forms; clean deletes nothing", () => {
    const home = tmp.home()
    const job = run(home, ["--", "true"])
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    const file = Path.join(home, "config.yaml")
    Fs.writeFileSync(file, "keep: 30 days\n")
    const clean = jobs(["clean"], { home })
    expect(clean.code, clean.stderr).toBe(2)
    oneLine(clean)
    expect(clean.stderr).toContain(`Cannot read config "${file}": keep "30 days" is not a duration`)
    expect(clean.stderr).toMatch(/30d/)
    expect(jobDirs(home)).toEqual([job.id])
    const r = jobs(["run", "--", "true"], { home })
    expect(r.code).toBe(2)
    expect(jobDirs(home)).toEqual([job.id])

    Fs.writeFileSync(file, "max_log_size: lots\n")
    const bad = jobs(["run", "--", "true"], { home })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/max_log_size "lots" is not a size/)

    // an unknown key: a warning, and the rest works
    Fs.writeFileSync(file, "keep: 30d\ncolour: blue\n")
    const warned = jobs(["run", "--", "true"], { home })
    expect(warned.code, warned.stderr).toBe(0)
    expect(warned.stderr).toMatch(/warning: .*unknown key "colour"/)
    expect(jobs(["clean"], { home }).code).toBe(0)
    expect(jobDirs(home)).toHaveLength(2)
  })
})

describe("retry keeps the whole spec", () => {
  it("a group job retried waits in its group; its name, timeout and env come along", () => {
    const home = tmp.home()
    expect(jobs(["group", "set", "g", "--parallel", "1"], { home }).code).toBe(0)
    const job = run(home, [
      "--group",
      "g",
      "--name",
      "grouped",
      "--env",
      "K=v",
      "--timeout",
      "1h",
      "--",
      "sh",
      "-c",
      "echo $K"
    ])
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    const again = json<Job & { group: string; timeoutSecs: number; retryOf: string }>(
      jobs(["retry", job.id, "--json"], { home })
    )
    expect(again).toMatchObject({ group: "g", name: "grouped", timeoutSecs: 3600, retryOf: job.id })
    expect(jobs(["wait", again.id], { home }).code).toBe(0)
    expect(jobs(["logs", again.id], { home }).stdout).toBe("v\n")
  })
})

describe.skipIf(!hasTmux && !inCi)("attach without a terminal", () => {
  it("attach and run --tmux -a exit 2 with one line at once; run -a writes nothing", () => {
    const home = tmp.home()
    const job = run(home, ["--tmux", "--", "sleep", "30"])
    const attach = jobs(["attach", job.id], { home })
    expect(attach.code, attach.stderr).toBe(2)
    oneLine(attach)
    expect(attach.stderr).toMatch(/^Cannot attach to job ".+": this is not a terminal/)
    expect(jobs(["stop", job.id], { home }).code).toBe(0)
    // retried: a tmux job again
    const again = json<Job & { executor: string }>(jobs(["retry", job.id, "--json"], { home }))
    expect(again.executor).toBe("tmux")
    expect(jobs(["stop", again.id], { home }).code).toBe(0)

    const before = jobDirs(home)
    const runAttach = jobs(["run", "--tmux", "-a", "--", "true"], { home })
    expect(runAttach.code, runAttach.stderr).toBe(2)
    oneLine(runAttach)
    expect(runAttach.stderr).toMatch(/^Cannot attach .*not a terminal/)
    expect(jobDirs(home)).toEqual(before)
  })
})

describe.skipIf(!canSsh && !inCi)("on a worker", () => {
  const withWorker = () => {
    const home = tmp.home()
    const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "known_hosts"),
      `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
    )
    const added = jobs(["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", tmp.dir()], {
      home,
      env
    })
    expect(added.code, added.stderr).toBe(0)
    return { home, env }
  }

  it("retry of a worker job runs on the same worker, without a push when the first had none", () => {
    const { home, env } = withWorker()
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "marker"), "pushed\n")
    const first = jobs(["run", "--on", "w", "-n", "--json", "--", "sh", "-c", "cat marker 2>/dev/null || echo none"], {
      home,
      env,
      cwd: project
    })
    const { id } = json<{ id: string }>(first)
    expect(jobs(["wait", id, "--timeout", "60s"], { home, env }).code).toBe(0)
    const again = json<{ id: string; executor: string; worker: string }>(jobs(["retry", id, "--json"], { home, env }))
    expect(again).toMatchObject({ executor: "ssh", worker: "w" })
    expect(jobs(["wait", again.id, "--timeout", "60s"], { home, env }).code).toBe(0)
    expect(jobs(["logs", again.id], { home, env }).stdout).toMatch(/^none\r?\n$/)
  })

  it("run --on --attach without a terminal: exit 2 at once, nothing written", () => {
    const { home, env } = withWorker()
    const r = ChildProcess.spawnSync(
      process.execPath,
      ["--", BIN, "run", "--on", "w", "-n", "--attach", "--", "true"],
      {
        env: { ...process.env, ...env, JOBS_HOME: home, SSH_AUTH_SOCK: "" },
        input: "",
        encoding: "utf8",
        timeout: 60_000
      }
    )
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^Cannot attach .*not a terminal/)
    expect(jobDirs(home)).toEqual([])
  })

  it("pull ID FILE DEST/ puts the file into the folder DEST, as cp does", () => {
    const { home, env } = withWorker()
    const r = jobs(
      ["run", "--on", "w", "-n", "--json", "--", "sh", "-c", "mkdir results && echo 42 > results/answer.txt"],
      { home, env }
    )
    const { id } = json<{ id: string }>(r)
    expect(jobs(["wait", id, "--timeout", "60s"], { home, env }).code).toBe(0)
    const into = Path.join(tmp.dir(), "out")
    const pulled = jobs(["pull", id, "results/answer.txt", `${into}/`], { home, env })
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(Fs.readFileSync(Path.join(into, "answer.txt"), "utf8")).toBe("42\n")
    // an existing folder without the slash: into it too
    const existing = tmp.dir()
    expect(jobs(["pull", id, "results/answer.txt", existing], { home, env }).code).toBe(0)
    expect(Fs.readFileSync(Path.join(existing, "answer.txt"), "utf8")).toBe("42\n")
    // without a slash and no such folder: a file of that name, as cp does
    const named = Path.join(tmp.dir(), "answer-copy.txt")
    expect(jobs(["pull", id, "results/answer.txt", named], { home, env }).code).toBe(0)
    expect(Fs.readFileSync(named, "utf8")).toBe("42\n")
    // the user's next step: the pulled file is where ls looks, and pulling again is the same
    expect(jobs(["pull", id, "results/answer.txt", `${into}/`], { home, env }).code).toBe(0)
    expect(Fs.readdirSync(into)).toEqual(["answer.txt"])
  })
})
