// The tmux executor with real tmux, driven as a person would: an outer tmux server plays the user's terminal
// (send-keys to type, capture-pane to read the screen), and `jobs attach` runs inside it.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, json, type Result } from "../support/cli.ts"
import { groupGone, groupMembers, readEvents, scratch, started } from "../support/job_files.ts"
import * as Terminal from "../support/terminal.ts"

const tmp = scratch()
const terminals = Terminal.terminals(tmp)
afterAll(() => {
  terminals.cleanup()
  tmp.cleanup()
})
const terminal = terminals.open
const tmuxOf = Terminal.tmuxOf

const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
if (!hasTmux && process.env.CI === undefined) {
  console.warn("SKIPPING tmux tests: tmux is not installed (apt-get install tmux)")
}

interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly executor: string
  readonly attachCommand?: string | null
}

const submit = (home: string, command: ReadonlyArray<string>, flags: ReadonlyArray<string> = []) => {
  const r = jobs(["run", "--tmux", "--json", ...flags, "--", ...command], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}

const status = (home: string, id: string) => json<JobJson>(jobs(["status", id, "--json"], { home }))
const jobSocket = (home: string) => Path.join(home, "tmux.sock")

const oneLine = (r: Result) => expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)

describe.skipIf(!hasTmux && process.env.CI === undefined)("jobs run --tmux", () => {
  it("runs in a real terminal, with the exit code, output and events of a local job", async () => {
    const home = tmp.home()
    const job = submit(home, [
      "sh",
      "-c",
      'if [ -t 1 ]; then echo "stdout is a tty"; fi; echo "semi;colon #{x}"; exit 3'
    ])
    expect(job.executor).toBe("tmux")
    const wait = jobs(["wait", job.id], { home })
    expect(wait.code).toBe(3)
    expect(status(home, job.id)).toMatchObject({ status: "failed", exitCode: 3 })
    const output = jobs(["logs", job.id], { home }).stdout
    expect(output).toContain("stdout is a tty")
    expect(output).toContain("semi;colon #{x}")
    // the same event shapes as a local job
    const local = jobs(["run", "--json", "--", "sh", "-c", "exit 3"], { home })
    const localId = json<JobJson>(local).id
    jobs(["wait", localId], { home })
    const shape = (id: string) => readEvents(home, id).map((e) => [e.type, Object.keys(e).sort().join(",")])
    expect(shape(job.id)).toEqual(shape(localId))
    // the session stays on the done screen, and status names the raw tmux command to reach it
    expect(status(home, job.id).attachCommand).toBe(`tmux -S '${jobSocket(home)}' attach -t jobs-${job.shortId}`)
    const pane = tmuxOf(jobSocket(home), ["capture-pane", "-p", "-t", `=jobs-${job.shortId}:`]).stdout
    expect(pane).toContain("--- Job done [exit 3]. Press any key to detach. ---")
  })

  it("attaches, detaches with C-b d while the job runs on, re-attaches, and ends on a key at the done screen", async () => {
    const home = tmp.home()
    const go = Path.join(tmp.dir(), "go")
    const job = submit(home, [
      "sh",
      "-c",
      `i=0; while [ ! -f '${go}' ]; do echo "tick $i"; i=$((i+1)); sleep 0.2; done; echo finished`
    ])
    await started(home, job.id)
    const term = terminal(home)
    await term.waitFor(/^\$/m, "the shell prompt")
    term.type(`node -- '${BIN}' attach ${job.shortId}`)
    term.key("Enter")
    await term.waitFor(/tick \d+/, "live output in the attached terminal")
    // the status bar: short id, command, status and elapsed time
    await term.waitFor(new RegExp(`${job.shortId}.*running\\s+\\d+h\\d+m\\d+s`), "the status bar")
    term.key("C-b")
    term.key("d")
    await term.waitFor(new RegExp(`${job.shortId} running \\(detached`), "the summary after detaching")
    expect(status(home, job.id).status).toBe("running")
    // back in
    term.type(`node -- '${BIN}' attach ${job.id}`)
    term.key("Enter")
    await term.waitFor(/tick \d+/, "live output after re-attaching")
    Fs.writeFileSync(go, "")
    await term.waitFor(/--- Job done \[exit 0\]\. Press any key to detach\. ---/, "the done screen")
    term.key("x")
    await term.waitFor(new RegExp(`${job.shortId} completed \\[0\\]`), "the summary after the session ended")
    expect(tmuxOf(jobSocket(home), ["has-session", "-t", `=jobs-${job.shortId}:`]).status).not.toBe(0)
    expect(jobs(["logs", job.id], { home }).stdout).toContain("finished")
  })

  it("attaches right after the start with --attach, and Ctrl+C reaches the job, not the supervisor", async () => {
    const home = tmp.home()
    const term = terminal(home)
    await term.waitFor(/^\$/m, "the shell prompt")
    term.type(`node -- '${BIN}' run --tmux -a -- sh -c 'echo ready; sleep 300'`)
    term.key("Enter")
    await term.waitFor(/^ready/m, "the job's output in the attached terminal")
    term.key("C-c")
    await term.waitFor(/--- Job done \[exit 130\]/, "the done screen after Ctrl+C")
    term.key("Enter")
    await term.waitFor(/ failed \[SIGINT\]/, "the summary after the session ended")
    const [job] = json<Array<JobJson>>(jobs(["list", "--all", "--json"], { home }))
    expect(job).toMatchObject({ status: "failed", signal: "SIGINT", exitCode: null })
  })

  it("applies --max-log-size to what the pane shows, as for a local job", async () => {
    const home = tmp.home()
    const script = 'i=0; while [ $i -lt 400 ]; do echo "line $i"; i=$((i+1)); done'
    const job = submit(home, ["sh", "-c", script], ["--max-log-size", "1K"])
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    await eventually(() => (readEvents(home, job.id).some((e) => e.type === "OutputTruncated") ? true : undefined))
    const dir = Path.join(home, "jobs", job.id)
    expect(Fs.statSync(Path.join(dir, "output.log")).size).toBe(1024)
    expect(Fs.readdirSync(dir).some((f) => f.startsWith("output.tail."))).toBe(true)
  })

  it("closes the session of a removed job", async () => {
    const home = tmp.home()
    const job = submit(home, ["true"])
    jobs(["wait", job.id], { home })
    expect(tmuxOf(jobSocket(home), ["has-session", "-t", `=jobs-${job.shortId}:`]).status).toBe(0)
    expect(jobs(["rm", job.id], { home }).code).toBe(0)
    expect(tmuxOf(jobSocket(home), ["has-session", "-t", `=jobs-${job.shortId}:`]).status).not.toBe(0)
  })

  it("stops the pane's whole process tree, and times out the same way", async () => {
    const home = tmp.home()
    const job = submit(home, ["sh", "-c", "sleep 300 & sleep 300 & wait"])
    const s = await started(home, job.id)
    await eventually(() => (groupMembers(s.pgid).length >= 3 ? true : undefined), 10_000, "the job's children")
    const stop = jobs(["stop", job.id, "--grace", "2s"], { home })
    expect(stop.code).toBe(0)
    expect(status(home, job.id).status).toBe("stopped")
    await groupGone(s.pgid)

    const timed = submit(
      home,
      ["sh", "-c", "trap '' TERM; sleep 300 & sleep 300"],
      ["--timeout", "1s", "--grace", "1s"]
    )
    const t = await started(home, timed.id)
    expect(jobs(["wait", timed.id], { home }).code).toBe(137)
    expect(status(home, timed.id).status).toBe("timed-out")
    expect(readEvents(home, timed.id).some((e) => e.type === "TimedOut")).toBe(true)
    await groupGone(t.pgid)
    const pane = tmuxOf(jobSocket(home), ["capture-pane", "-p", "-t", `=jobs-${timed.shortId}:`]).stdout
    expect(pane).toContain("--- Job done [exit 137]")
  })

  it("records a job as interrupted when its tmux server is killed", async () => {
    const home = tmp.home()
    const job = submit(home, ["sleep", "300"])
    const s = await started(home, job.id)
    const server = tmuxOf(jobSocket(home), ["display-message", "-p", "#{pid}"]).stdout.trim()
    process.kill(Number(server), "SIGKILL")
    const after = await eventually(() => {
      const j = status(home, job.id)
      return j.status === "running" ? undefined : j
    })
    expect(after.status).toBe("interrupted")
    await groupGone(s.pgid)
  })

  it("explains what it cannot attach to, and a missing tmux, in one line", async () => {
    const home = tmp.home()
    const local = json<JobJson>(jobs(["run", "--json", "--", "true"], { home }))
    const notTmux = jobs(["attach", local.shortId], { home })
    expect(notTmux.code).toBe(1)
    oneLine(notTmux)
    expect(notTmux.stderr).toMatch(/^Cannot attach to job .*does not run in tmux/)

    const job = submit(home, ["true"])
    jobs(["wait", job.id], { home })
    tmuxOf(jobSocket(home), ["kill-session", "-t", `=jobs-${job.shortId}:`])
    const gone = jobs(["attach", job.shortId], { home })
    expect(gone.code).toBe(1)
    oneLine(gone)
    expect(gone.stderr).toMatch(/session is gone \(jobs logs/)

    const noTmux = jobs(["run", "--tmux", "--", "/bin/true"], { home, env: { PATH: "/nonexistent" } })
    expect(noTmux.code).toBe(1)
    oneLine(noTmux)
    expect(noTmux.stderr).toMatch(/tmux is not installed \(.*apt-get install tmux\)/)
  })
})
