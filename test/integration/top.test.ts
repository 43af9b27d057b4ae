// `jobs top` in a real terminal (a tmux pane): it shows the project's jobs live, keys select, filter, stop and open
// a job's logs, q gives the prompt back; into a pipe it prints the table once.
import * as ChildProcess from "node:child_process"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, json } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Terminal from "../support/terminal.ts"

const tmp = scratch()
const terminals = Terminal.terminals(tmp)
afterAll(() => {
  terminals.cleanup()
  tmp.cleanup()
})

const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
if (!hasTmux && process.env.CI !== "true") console.warn("top.test.ts: tmux is missing (apt-get install tmux): skipped")

describe.skipIf(!hasTmux && process.env.CI !== "true")("jobs top", () => {
  it("follows the jobs live, filters, stops the selected job, pages its logs, and q gives the prompt back", async () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const done = json<{ id: string; shortId: string }>(
      jobs(["run", "--json", "--name", "hello", "--", "echo", "hello from the job"], { home, cwd })
    )
    jobs(["wait", done.id], { home })
    const term = terminals.open(home)
    term.type(`cd '${cwd}' && node -- ${BIN} top --interval 1\n`)
    await term.waitFor(/jobs top — this project — 1 jobs, 0 running/, "the view")
    expect(term.screen()).toMatch(/hello +completed \[0\]/)
    // a job started now shows within the refresh
    const busy = json<{ id: string; shortId: string }>(
      jobs(["run", "--json", "--name", "busy", "--", "sleep", "300"], { home, cwd })
    )
    await term.waitFor(/2 jobs, 1 running/, "the new job")
    expect(term.screen()).toMatch(/busy +running/)
    // the newest is first and selected: stop it, after a confirmation
    term.type("s")
    await term.waitFor(/stop busy \(\w{8}\)\? y\/n/, "the question")
    term.type("y")
    await term.waitFor(/busy +stopped/, "the stopped job", 30_000)
    expect(json<{ status: string }>(jobs(["status", busy.id, "--json"], { home })).status).toBe("stopped")
    // a filter keeps only what matches
    term.type("/hel")
    term.key("Enter")
    await term.waitFor(/filter: hel/, "the filter")
    expect(term.screen()).not.toMatch(/busy +stopped/)
    // l shows the selected job's output; q goes back to the list, then leaves
    term.type("l")
    await term.waitFor(/output of hello \(\w{8}\)[\s\S]*hello from the job/, "the job's output")
    term.type("q")
    await term.waitFor(/jobs top — this project/, "the view again")
    term.type("q")
    await eventually(() => (/jobs top —/.test(term.screen()) ? undefined : true), 15_000, "the view to close")
    term.type("echo back-at-the-prompt\n")
    await term.waitFor(/^back-at-the-prompt$/m, "the prompt")
  })

  it("prints the table once into a pipe", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    expect(jobs(["run", "--name", "once", "--", "true"], { home, cwd }).code).toBe(0)
    const r = jobs(["top"], { home, cwd })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ID +NAME +STATUS/)
    expect(r.stdout).toMatch(/once/)
    expect(r.stdout).not.toMatch(/\u001b/)
  })
})
