// Signals reach the command as the user sends them: every executor starts it with the default disposition of every
// signal and nothing blocked (a shell's background `&` would leave INT and QUIT ignored), so `stop -s INT` raises
// Python's KeyboardInterrupt and a "save a checkpoint on Ctrl-C" handler runs.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, jobs, json, type RunOptions } from "../support/cli.ts"
import { scratch, started } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"
import { tmuxOf } from "../support/terminal.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
const hasSshd = Sshd.available()
const hasPython = ChildProcess.spawnSync("python3", ["-c", "pass"]).status === 0
if (!inCi) {
  if (!hasTmux) console.warn("SKIPPING tmux signal tests: tmux is not installed (apt-get install tmux)")
  if (!hasSshd) console.warn("SKIPPING ssh signal tests: install openssh-server (apt-get install openssh-server)")
  if (!hasPython) console.warn("SKIPPING the KeyboardInterrupt test: python3 is not installed")
}
let server: Sshd.Sshd | undefined
/** tmux servers the jobs of these tests started (the homes' and the worker's), ended at the end. */
const sockets: Array<string> = []

beforeAll(async () => {
  if (hasSshd || inCi) server = await Sshd.start()
})
afterAll(() => {
  for (const socket of sockets) tmuxOf(socket, ["kill-server"])
  server?.stop()
  tmp.cleanup()
})

interface JobJson {
  readonly id: string
  readonly status: string
  readonly exitCode: number | null
}

/** A home for `executor`, with what `jobs run` needs for it (flags, environment). */
const homeFor = (executor: "local" | "tmux" | "ssh") => {
  const home = tmp.home()
  if (executor === "local") return { home, flags: [] as Array<string>, options: { home } as RunOptions }
  if (executor === "tmux") {
    sockets.push(Path.join(home, "tmux.sock"))
    return { home, flags: ["--tmux"], options: { home } as RunOptions }
  }
  const options: RunOptions = { home, env: { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined } }
  Fs.writeFileSync(
    Path.join(server!.clientHome, ".ssh", "known_hosts"),
    `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
  )
  const worker = Path.join(tmp.dir(), "remote-home")
  sockets.push(Path.join(worker, "tmux.sock"))
  const added = jobs(["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", worker], options)
  expect(added.code, added.stderr).toBe(0)
  return { home, flags: ["--on", "w", "-n"], options }
}

const can = { local: true, tmux: hasTmux || inCi, ssh: hasSshd || inCi }

describe("the command's signal dispositions", () => {
  it.each(["local", "tmux", "ssh"] as const)("nothing ignored, nothing blocked (%s)", (executor) => {
    if (!can[executor]) return
    const { flags, options } = homeFor(executor)
    const r = jobs(["run", "--json", ...flags, "--", "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], options)
    expect(r.code, r.stderr).toBe(0)
    const { id } = json<JobJson>(r)
    expect(jobs(["wait", id, "--timeout", "60s"], options).code).toBe(0)
    const lines = jobs(["logs", id], options)
      .stdout.split(/\r?\n/)
      .filter((l) => l.startsWith("Sig"))
      .sort()
    expect(lines).toEqual(["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"])
  })
})

describe.skipIf(!hasPython && !inCi)("jobs stop -s INT", () => {
  it.each(["local", "tmux", "ssh"] as const)(
    "raises KeyboardInterrupt in Python, whose handler saves a checkpoint (%s)",
    async (executor) => {
      if (!can[executor]) return
      const { home, flags, options } = homeFor(executor)
      const checkpoint = Path.join(tmp.dir(), "checkpoint")
      const program = [
        "import sys, time",
        "try:",
        "    print('training', flush=True)",
        "    time.sleep(300)",
        "except KeyboardInterrupt:",
        "    open(sys.argv[1], 'w').write('saved')",
        "    print('checkpoint saved', flush=True)"
      ].join("\n")
      const r = jobs(["run", "--json", ...flags, "--", "python3", "-c", program, checkpoint], options)
      expect(r.code, r.stderr).toBe(0)
      const { id } = json<JobJson>(r)
      if (executor !== "ssh") await started(home, id)
      await eventually(
        () => (jobs(["logs", id], options).stdout.includes("training") ? true : undefined),
        30_000,
        "the job's first line"
      )
      const stop = jobs(["stop", id, "-s", "INT", "--grace", "20s"], options)
      expect(stop.code, stop.stderr).toBe(0)
      expect(Fs.readFileSync(checkpoint, "utf8")).toBe("saved")
      expect(jobs(["logs", id], options).stdout).toContain("checkpoint saved")
      // it ended by itself after the handler, well before the grace: no KILL was needed
      expect(json<JobJson>(jobs(["status", id, "--json"], options))).toMatchObject({ status: "stopped", exitCode: 0 })
    }
  )
})
