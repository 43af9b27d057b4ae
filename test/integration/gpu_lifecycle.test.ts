// The end of a GPU job as the user's next step sees it (issue 16 §3), against `jobs gpu emulator`: `wait` returns
// once the downloads are in and the instance is released (and says so when a download failed); `retry` runs the
// whole spec again; `gpu sweep` without --yes and `gpu terminate` of an unknown instance say only what was done.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { BIN, jobs, json, type Result, tempDir } from "../support/cli.ts"
import { processesOf, procStat, scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available() && ChildProcess.spawnSync("rsync", ["--version"]).status === 0
if (!can && !inCi) console.warn("SKIPPING GPU lifecycle tests: install openssh-server and rsync")

let emulator: ChildProcess.ChildProcess | undefined
let url = ""
let env: Record<string, string | undefined> = {}

const admin = async (path: string, body?: unknown) =>
  (await (
    await fetch(`${url}/_admin/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) })
  ).json()) as any
const alive = async (): Promise<Array<any>> => (await admin("instances")).instances.filter((i: any) => i.alive)
const until = async <A>(f: () => Promise<A | undefined> | A | undefined, timeoutMs = 30_000, what = "it") => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const as = (home: string, args: ReadonlyArray<string>, cwd?: string): Result =>
  jobs(args, { home, env, ...(cwd === undefined ? {} : { cwd }) })
// a job pushes its cwd: each runs from a small project of its own (never the whole temp dir)
const run = (home: string, args: ReadonlyArray<string>, cwd = tmp.dir()) => {
  const r = as(home, ["run", "--json", ...args], cwd)
  expect(r.code, r.stderr).toBe(0)
  return json<{ id: string; shortId: string; executor: string; worker: string }>(r)
}
const status = (home: string, id: string) =>
  json<{ status: string; exitCode: number | null; reason: string | null; cost: number | null }>(
    as(home, ["status", id, "--json"])
  )
const events = (home: string, id: string): Array<any> =>
  Fs.readFileSync(Path.join(home, "jobs", id, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
const keeperPid = (home: string, id: string) =>
  Number(Fs.readFileSync(Path.join(home, "jobs", id, "keeper"), "utf8").split(" ")[0])
const running = (home: string, id: string) =>
  until(() => (status(home, id).status === "running" ? true : undefined), 30_000, "the job to run")

beforeAll(async () => {
  if (!can && !inCi) return
  const clientHome = tempDir("jobs-gpu-client-")
  Fs.mkdirSync(Path.join(clientHome, ".ssh"), { mode: 0o700 })
  ChildProcess.execFileSync("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-f",
    Path.join(clientHome, ".ssh", "id_ed25519")
  ])
  emulator = ChildProcess.spawn(process.execPath, ["--", BIN, "gpu", "emulator", "--step", "0.1s", "--json"], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const first = await new Promise<string>((resolve, reject) => {
    let text = ""
    emulator!.stdout!.on("data", (d: Buffer) => {
      text += d.toString("utf8")
      if (text.includes("\n")) resolve(text.split("\n")[0]!)
    })
    emulator!.once("exit", (code) => reject(new Error(`the emulator exited (${code})`)))
  })
  const started = JSON.parse(first) as { url: string; env: Record<string, string> }
  url = started.url
  env = {
    ...started.env,
    HOME: clientHome,
    SSH_AUTH_SOCK: undefined,
    JOBS_GPU_POLL_MS: "200",
    JOBS_GPU_RETRY_BASE_MS: "50",
    JOBS_GPU_GUARD_GRACE: "1",
    JOBS_GPU_GUARD_HOLD: "3"
  }
})
afterEach(async () => {
  if (url !== "") await admin("faults", { rateLimit: {}, noCapacity: [], createThenFail: [], sshLateSecs: 0 })
})
afterAll(async () => {
  try {
    if (emulator !== undefined) expect(await alive()).toEqual([])
  } finally {
    // a TERM closes the emulator: whatever is left (an sshd, a job on it) ends with it
    if (emulator !== undefined && emulator.exitCode === null) {
      emulator.kill("SIGTERM")
      await new Promise((r) => emulator!.once("exit", r))
    }
    tmp.cleanup()
  }
})

describe.skipIf(!can && !inCi)("the end of a GPU job", () => {
  it("wait returns once the downloads are in and the instance released; a failed download exits 1; retry runs it all again", async () => {
    const home = tmp.home()
    const project = tmp.dir()
    const results = Path.join(project, "results", "answer.txt")
    const command = ["sh", "-c", "mkdir -p results && echo 42 > results/answer.txt"]
    const job = run(
      home,
      ["--gpu", "A100", "--provider", "runpod", "--download", "./results", "--", ...command],
      project
    )
    const waited = as(home, ["wait", job.id, "--timeout", "120s"])
    expect(waited.code, waited.stderr).toBe(0)
    // the user's next step, at once: the results are there, and nothing is billing any more
    expect(Fs.readFileSync(results, "utf8")).toBe("42\n")
    const types = events(home, job.id).map((e) => e.type)
    expect(types).toContain("Downloaded")
    expect(types).toContain("Terminated")
    expect(await alive()).toEqual([])

    // retry: the whole spec again (gpu part, downloads), a new instance, the results land again
    Fs.rmSync(Path.join(project, "results"), { recursive: true })
    const retried = as(home, ["retry", job.id, "--json"])
    expect(retried.code, retried.stderr).toBe(0)
    const again = json<{ id: string; executor: string; retryOf: string }>(retried)
    expect(again).toMatchObject({ executor: "gpu", retryOf: job.id })
    const waitedAgain = as(home, ["wait", again.id, "--timeout", "120s"])
    expect(waitedAgain.code, waitedAgain.stderr).toBe(0)
    expect(status(home, again.id)).toMatchObject({ status: "completed", exitCode: 0 })
    expect(Fs.readFileSync(results, "utf8")).toBe("42\n")
    expect(events(home, again.id).filter((e) => e.type === "Provisioned")).toHaveLength(1)
    expect(await alive()).toEqual([])

    // a download that fails: wait says so (exit 1, one line per path), and its JSON has the error
    const failing = run(
      home,
      ["--gpu", "A100", "--provider", "runpod", "--download", "./results", "--download", "./missing", "--", ...command],
      project
    )
    const failed = as(home, ["wait", failing.id, "--timeout", "120s"])
    expect(failed.code, failed.stderr).toBe(1)
    expect(failed.stderr).toMatch(new RegExp(`^Cannot download "./missing" from job "${failing.shortId}": `, "m"))
    const [object] = json<Array<{ status: string; downloads: Array<{ path: string; error: string | null }> }>>(
      as(home, ["wait", failing.id, "--json"])
    )
    expect(object!.status).toBe("completed")
    expect(object!.downloads.map((d) => [d.path, d.error === null])).toEqual([
      ["./results", true],
      ["./missing", false]
    ])
    await until(async () => ((await alive()).length === 0 ? true : undefined), 30_000, "no instance alive")
  }, 300_000)

  it("--download a --download a/b: nothing is written through a link the instance made, outside the cwd", async () => {
    const home = tmp.home()
    const project = tmp.dir()
    // a relative link: on the instance it leads to a folder the job filled, here to one beside the project
    const outside = tmp.dir()
    const name = Path.basename(outside)
    const script = `mkdir -p ../${name}/b && echo pwned > ../${name}/b/evil && ln -s ../${name} a`
    const job = run(
      home,
      ["--gpu", "A100", "--provider", "runpod", "--download", "a", "--download", "a/b", "--", "sh", "-c", script],
      project
    )
    const waited = as(home, ["wait", job.id, "--timeout", "120s"])
    expect(waited.code).toBe(1)
    expect(waited.stderr.trim().split("\n")).toEqual([
      `Cannot download "a" from job "${job.shortId}": it is a symbolic link on the remote side`
    ])
    expect(Fs.readdirSync(outside)).toEqual([])
    expect(Fs.lstatSync(Path.join(project, "a")).isDirectory()).toBe(true)
    expect(Fs.readFileSync(Path.join(project, "a", "b", "evil"), "utf8")).toBe("pwned\n")
    await until(async () => ((await alive()).length === 0 ? true : undefined), 30_000, "no instance alive")
  }, 300_000)

  it("gpu sweep without --yes records nothing and says so; gpu terminate of an unknown instance is an error", async () => {
    const home = tmp.home()
    const job = run(home, ["--gpu", "A100", "--provider", "vast", "--", "sleep", "300"])
    await running(home, job.id)
    process.kill(keeperPid(home, job.id), "SIGKILL")
    const instance = (await alive()).find((i: any) => i.name === `jobs-${job.id}`)
    await admin(`vanish/vast/${instance.id}`, {})
    const before = events(home, job.id).length
    const dry = as(home, ["gpu", "sweep"])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain("gone at the provider (would be recorded in the job's log)")
    expect(dry.stdout).not.toContain("(recorded in the job's log)")
    expect(events(home, job.id)).toHaveLength(before)
    const applied = as(home, ["gpu", "sweep", "--yes"])
    expect(applied.stdout).toContain("gone at the provider (recorded in the job's log)")
    expect(events(home, job.id).find((e) => e.type === "Terminated")).toMatchObject({ by: "provider" })

    const unknown = as(home, ["gpu", "terminate", "runpod:nope"])
    expect(unknown.code).toBe(1)
    expect(unknown.stdout).toBe("")
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1)
    expect(unknown.stderr).toMatch(/^Cannot terminate runpod:nope: runpod has no such instance/)
    // the job, interrupted or not, can be removed: the user's next step
    expect(as(home, ["stop", job.id]).code).toBe(0)
    expect(as(home, ["rm", "--keep-remote", job.id]).code).toBe(0)
  }, 300_000)
})

describe.skipIf(!can && !inCi)("a GPU job whose keeper and supervisor were killed with -9", () => {
  it("a submit killed before its keeper was spawned is recorded once as never started: wait 125, rm works", async () => {
    const home = tmp.home()
    const submitter = ChildProcess.spawn(
      process.execPath,
      ["--", BIN, "run", "--gpu", "A100", "--provider", "runpod", "--", "true"],
      {
        cwd: tmp.dir(),
        env: { ...process.env, ...env, JOBS_HOME: home, JOBS_TEST_PAUSE: "submitted:60000" } as NodeJS.ProcessEnv,
        stdio: "ignore"
      }
    )
    const id = await until(
      () =>
        Fs.existsSync(Path.join(home, "jobs"))
          ? Fs.readdirSync(Path.join(home, "jobs")).find(
              (d) => !d.startsWith(".") && events(home, d).some((e) => e.type === "Submitted")
            )
          : undefined,
      30_000,
      "the Submitted event"
    )
    submitter.kill("SIGKILL")
    await new Promise((resolve) => submitter.once("exit", resolve))
    const wait = as(home, ["wait", id, "--timeout", "60s"])
    expect(wait.code, wait.stderr).toBe(125)
    expect(status(home, id).status).toBe("interrupted")
    expect(status(home, id).reason).toMatch(/^never started/)
    expect(events(home, id).filter((e) => e.type === "Interrupted")).toHaveLength(1)
    expect(as(home, ["rm", "--yes", id]).code).toBe(0)
    expect(Fs.existsSync(Path.join(home, "jobs", id))).toBe(false)
    expect(await alive()).toEqual([])
  }, 120_000)

  it("jobs stop stops what its command left running on the instance; a sweep then ends the instance", async () => {
    const home = tmp.home()
    // a supervisor on the instance runs in a tmux pane, whose end hangs up the terminal's foreground group
    const job = run(home, ["--gpu", "A100", "--provider", "runpod", "--", "sh", "-c", "trap '' HUP; sleep 300 & wait"])
    await running(home, job.id)
    const started = events(home, job.id).find((e) => e.type === "Started")
    const pgid = started.pgid as number
    try {
      await until(() => (processesOf(job.id).length >= 2 ? true : undefined), 30_000, "the command")
      process.kill(keeperPid(home, job.id), "SIGKILL")
      // the emulated instance's processes are this machine's
      process.kill(started.supervisorPid, "SIGKILL")
      await until(() => (procStat(started.supervisorPid) === undefined ? true : undefined), 15_000, "the supervisor")
      expect(status(home, job.id).status).toBe("interrupted")
      expect(processesOf(job.id).length).toBeGreaterThanOrEqual(2)
      const stop = as(home, ["stop", job.id, "--grace", "1s"])
      expect(stop.code, stop.stderr).toBe(0)
      expect(stop.stdout).not.toMatch(/already ended/)
      expect(processesOf(job.id)).toEqual([])
      expect(as(home, ["gpu", "sweep", "--yes"]).code).toBe(0)
      await until(async () => ((await alive()).length === 0 ? true : undefined), 30_000, "no instance alive")
    } finally {
      try {
        process.kill(-pgid, "SIGKILL")
      } catch {
        // gone
      }
    }
  }, 180_000)
})

describe.skipIf(!can && !inCi)("jobs gpu emulator", () => {
  it("--detach outlives the shell that started it, and kill PID ends it; without it, a parent's end is said", async () => {
    const r = ChildProcess.spawnSync("sh", ["-c", `'${process.execPath}' -- '${BIN}' gpu emulator --detach --json`], {
      encoding: "utf8",
      timeout: 60_000
    })
    expect(r.status, r.stderr).toBe(0)
    const started = JSON.parse(r.stdout) as { url: string; pid: number; env: Record<string, string> }
    try {
      // the shell is gone; the emulator still answers, again and again
      await new Promise((resolve) => setTimeout(resolve, 2500))
      const listed = (await (await fetch(`${started.url}/_admin/instances`)).json()) as { instances: Array<unknown> }
      expect(listed.instances).toEqual([])
      expect(started.env.RUNPOD_API_URL).toBeDefined()
    } finally {
      process.kill(started.pid, "SIGTERM")
    }
    await until(
      () => {
        try {
          process.kill(started.pid, 0)
          return undefined
        } catch {
          return true
        }
      },
      30_000,
      "the emulator to end"
    )

    // backgrounded with & by a shell that then exits: it closes, and says why on its stderr
    const log = Path.join(tmp.dir(), "emulator.log")
    ChildProcess.spawnSync(
      "sh",
      ["-c", `'${process.execPath}' -- '${BIN}' gpu emulator --json >/dev/null 2>'${log}' & sleep 3`],
      { timeout: 60_000 }
    )
    await until(
      () => (Fs.readFileSync(log, "utf8").includes("the process that started it is gone") ? true : undefined),
      30_000,
      "the emulator to say it closes"
    )
  }, 120_000)
})
