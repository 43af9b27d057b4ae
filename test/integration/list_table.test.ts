// `jobs list` as it looks in a real terminal at 80 and at 200 columns: it fits, long commands are cut in the middle,
// wide characters count twice, statuses are coloured (not with NO_COLOR, never into a pipe), CWD shows only when the
// rows do not share one, and the "showing the newest" hint only when the limit was not asked for.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import stringWidth from "string-width"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Terminal from "../support/terminal.ts"

const tmp = scratch()
const terminals = Terminal.terminals(tmp)
afterAll(() => {
  terminals.cleanup()
  tmp.cleanup()
})

const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
if (!hasTmux && process.env.CI !== "true")
  console.warn("list_table.test.ts: tmux is missing (apt-get install tmux): skipped")

const LONG = "a very long command line that goes on and on with many words in it until the very end"
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

describe.skipIf(!hasTmux && process.env.CI !== "true")("jobs list in a terminal", () => {
  it("fits 80 columns and shows everything at 200, with coloured statuses unless NO_COLOR", async () => {
    const home = tmp.home()
    const a = tmp.dir()
    const b = tmp.dir()
    expect(
      jobs(["run", "--name", "训练モデル", "--", "sh", "-c", `echo '${LONG}'; exit 3`], { home, cwd: a }).code
    ).toBe(0)
    expect(jobs(["run", "--group", "batch", "--", "echo", "done"], { home, cwd: b }).code).toBe(0)
    expect(jobs(["wait", "训练モデル"], { home }).code).toBe(3)
    const term = terminals.open(home)
    let n = 0
    const screen = async (columns: number, command: string) => {
      term.resize(columns, 40)
      n++
      term.type(`clear; ${command}; echo "-- end $((${n}+0)) --"\n`)
      await eventually(() => (term.screen().includes(`-- end ${n} --`) ? true : undefined), 20_000, command)
      return term.history({ escapes: true }).split(`-- end ${n} --`).at(-2)!
    }
    const list = `node -- ${BIN} list --all`
    const narrow = await screen(80, list)
    const lines = stripAnsi(narrow)
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.includes("-- end"))
    const table = lines.slice(lines.findIndex((l) => l.startsWith("ID")))
    expect(table.length).toBe(3)
    for (const line of table) expect(stringWidth(line.trimEnd()), line).toBeLessThanOrEqual(80)
    // the command cut in the middle: its start and its end are both there
    const row = table.find((l) => l.includes("训练"))!
    expect(row).toMatch(/sh -c .*….*exit 3/)
    // coloured: failed in red, completed in green
    expect(narrow).toMatch(/\u001b\[31mfailed \[3\]/)
    expect(narrow).toMatch(/\u001b\[32mcompleted \[0\]/)
    const wide = stripAnsi(await screen(200, list))
    expect(wide).toContain(LONG)
    expect(wide).toMatch(/^ID +NAME +STATUS +COMMAND +GROUP +CWD +AGE +DURATION$/m)
    const plain = await screen(80, `NO_COLOR=1 ${list}`)
    expect(plain).not.toMatch(/\u001b\[3[12]m/)
  })
})

describe.skipIf(!hasTmux && process.env.CI !== "true")("a long command", () => {
  it("shows a spinner on a terminal while it waits, and prints nothing extra into a pipe", async () => {
    const home = tmp.home()
    // two jobs that take their time to end on TERM
    for (const name of ["slow1", "slow2"])
      expect(
        jobs(["run", "--name", name, "--", "sh", "-c", "trap 'sleep 3; exit 0' TERM; sleep 60 & wait"], { home }).code
      ).toBe(0)
    const term = terminals.open(home)
    term.type(`node -- ${BIN} stop --all --yes; echo "-- stopped $((1+1)) --"\n`)
    await term.waitFor(/stopping 2 jobs \(signalled; waiting for them to end\)/, "the spinner", 20_000)
    await term.waitFor(/-- stopped 2 --/, "the end of stop", 30_000)
    // the spinner's line is cleared: what stays is the result
    expect(term.screen()).not.toMatch(/stopping 2 jobs/)
    expect(term.screen()).toMatch(/^\w{8} stopped \[0\]$/m)
    for (const name of ["slow3", "slow4"])
      expect(
        jobs(["run", "--name", name, "--", "sh", "-c", "trap 'sleep 2; exit 0' TERM; sleep 60 & wait"], { home }).code
      ).toBe(0)
    const piped = jobs(["stop", "--all", "--yes"], { home })
    expect(piped.code).toBe(0)
    expect(piped.stderr).not.toMatch(/stopping|\u001b/)
  })
})

describe("jobs list into a pipe", () => {
  it("keeps whole cells, no colour, CWD only across projects, and the hint only for the default limit", () => {
    const home = tmp.home()
    const project = tmp.dir()
    Fs.mkdirSync(Path.join(project, ".git"))
    const lines = Array.from({ length: 52 }, (_, i) => `echo ${i}`).join("\n")
    expect(jobs(["run", "--each", "-"], { home, cwd: project, input: lines }).code).toBe(0)
    const mine = jobs(["list"], { home, cwd: project })
    expect(mine.stdout).not.toMatch(/\u001b\[/)
    expect(mine.stdout.split("\n")[0]).not.toContain("CWD")
    expect(mine.stderr).toMatch(/showing the newest 50/)
    const asked = jobs(["list", "--limit", "5"], { home, cwd: project })
    expect(asked.stdout.trim().split("\n")).toHaveLength(6)
    expect(asked.stderr).toBe("")
    expect(jobs(["run", "--", "sh", "-c", `echo '${LONG}'`], { home, cwd: tmp.dir() }).code).toBe(0)
    const all = jobs(["list", "--all", "--limit", "0"], { home })
    expect(all.stdout.split("\n")[0]).toMatch(/ CWD /)
    expect(all.stdout).toContain(LONG)
    expect(jobs(["list", "--color", "always", "--limit", "1"], { home, cwd: project }).stdout).toMatch(/\u001b\[/)
  })
})
