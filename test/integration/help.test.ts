// Help as a new user reads it: at 80 and at 200 columns in a real terminal, every command listed by topic, run's
// flags by topic and one line each, the examples it shows run as they are, and a slip answered with a suggestion.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Argv from "../../cli/argv.ts"
import * as Run from "../../cli/commands/run.ts"
import * as Help from "../../cli/help.ts"
import { BIN, eventually, jobs } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Terminal from "../support/terminal.ts"

const tmp = scratch()
const terminals = Terminal.terminals(tmp)
const homes: Array<string> = []
afterAll(() => {
  terminals.cleanup()
  for (const home of homes) Terminal.tmuxOf(Path.join(home, "tmux.sock"), ["kill-server"])
  tmp.cleanup()
})

const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
if (!hasTmux && process.env.CI !== "true") console.warn("help.test.ts: tmux is missing (apt-get install tmux): skipped")

const TOP = ["run", "list", "status", "logs", "events", "stop", "wait", "retry", "rm", "clean", "attach", "group"]

describe("jobs --help", () => {
  it("lists every command by topic in 80 columns, with the global flags and examples, as plain text", () => {
    const r = jobs(["--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/\u001b\[/)
    for (const command of [...TOP, "serve", "mcp", "skills", "worker", "gpu", "pull"])
      expect(r.stdout, command).toMatch(new RegExp(`^  ${command} +\\S`, "m"))
    for (const topic of ["Run:", "Inspect:", "Control:", "Queue:", "Remote:", "GPU:", "Dashboard & agents:"])
      expect(r.stdout).toContain(`\n${topic}\n`)
    expect(r.stdout).toMatch(/--home DIR/)
    expect(r.stdout).toMatch(/--json/)
    expect(r.stdout).not.toContain("$ ")
    expect(Math.max(...r.stdout.split("\n").map((l) => l.length))).toBeLessThanOrEqual(80)
    expect(r.stdout).not.toContain("Other:")
  })

  it("gives run one screen: a synopsis, flags by topic with value names, one line each", () => {
    const r = jobs(["run", "--help"])
    expect(r.code).toBe(0)
    expect(r.stdout.split("\n")[0]).toBe("Usage: jobs run [OPTIONS] -- COMMAND [ARGS]...")
    expect(r.stdout).toMatch(/^ {2}--timeout DURATION +Stop the job/m)
    expect(r.stdout).toMatch(/^ {2}-e, --env K\[=V\]\.\.\. /m)
    expect(r.stdout).toMatch(/^Where:\n {2}--on WORKER/m)
    expect(r.stdout).not.toMatch(/A user-defined piece of text|This setting is optional/)
    expect(r.stdout).not.toContain("Other:")
    const lines = r.stdout.split("\n")
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80)
    // every flag once, on a line of its own
    for (const flag of Help.describe(Run.command).flags)
      expect(
        lines.filter((l) => new RegExp(`^ {2}(-\\w, )?${flag.long}(?=[ [])`).test(l)),
        flag.long
      ).toHaveLength(1)
    // the whole text is one `jobs help run` away
    const whole = jobs(["help", "run"])
    expect(whole.code).toBe(0)
    expect(whole.stdout).toContain("run without a shell")
    expect(whole.stdout).not.toContain("…")
  })

  it("has every run flag in one topic, and the launcher knows which of them take a value", () => {
    const flags = Help.describe(Run.command).flags
    for (const flag of flags) {
      const topics = Help.RUN_FLAG_GROUPS.filter(([, names]) => names.includes(flag.long))
      expect(topics.length, `${flag.long} in ${topics.length} topics`).toBe(1)
    }
    for (const [, names] of Help.RUN_FLAG_GROUPS)
      for (const name of names)
        expect(
          flags.map((f) => f.long),
          name
        ).toContain(name)
    // cli/argv.ts splits the command from run's flags without @effect/cli: a flag it thinks takes no value would eat
    // the command, one it thinks takes a value would swallow it
    const valued = flags.filter((f) => f.value !== undefined && f.long !== "--keep-alive")
    for (const flag of valued) {
      const split = Argv.split(["run", flag.long, "v", "echo", "hi"])
      expect(split.command, flag.long).toEqual(["echo", "hi"])
    }
    for (const flag of flags.filter((f) => f.value === undefined)) {
      const split = Argv.split(["run", flag.long, "echo", "hi"])
      expect(split.command, flag.long).toEqual(["echo", "hi"])
    }
  })

  it("lists serve's flags, which the dashboard's own parser takes", () => {
    const r = jobs(["serve", "--help"])
    expect(r.code).toBe(0)
    for (const flag of ["--host HOST", "--port N", "--token TOKEN", "--open"]) expect(r.stdout).toContain(flag)
    expect(jobs(["mcp", "--help"]).stdout).toMatch(/^Usage: jobs mcp/)
    expect(jobs(["help", "worker", "add"]).stdout).toMatch(/^Usage: jobs worker add \[OPTIONS\] NAME CONNECTION/)
    expect(jobs(["gpu", "offers", "--help"]).stdout).toMatch(/--max-price USD/)
  })
})

describe("the man page", () => {
  it("is built from the same help, with every command, the worker and gpu ones included", () => {
    const page = Fs.readFileSync(Path.resolve(import.meta.dirname, "../../dist/jobs.1"), "utf8")
    expect(page).toMatch(/^\.TH JOBS 1 /)
    for (const command of [...TOP, "serve", "mcp", "top", "worker add", "worker ls", "gpu offers", "gpu emulator"])
      expect(page, command).toContain(`\n.SS jobs ${command}\n`)
    expect(page).toContain("--timeout DURATION")
    const pkg = JSON.parse(Fs.readFileSync(Path.resolve(import.meta.dirname, "../../package.json"), "utf8"))
    expect(pkg.man).toEqual(["./dist/jobs.1"])
    expect(pkg.files).toContain("dist/jobs.1")
    // what man shows, where man is installed
    const man = ChildProcess.spawnSync("man", ["-l", Path.resolve(import.meta.dirname, "../../dist/jobs.1")], {
      encoding: "utf8",
      env: { ...process.env, MANPAGER: "cat", PAGER: "cat" }
    })
    if (man.status === 0) expect(man.stdout).toMatch(/jobs worker add/)
  })
})

describe("a slip", () => {
  it("is refused in one line with what was meant, and nothing runs", () => {
    const home = tmp.home()
    const cases: Array<[ReadonlyArray<string>, string]> = [
      [["lst"], `jobs has no command "lst" (did you mean "list"?)`],
      [["run", "--nmae", "x", "--", "true"], `jobs run has no flag "--nmae" (did you mean "--name"?)`],
      [["stop", "--al"], `jobs stop has no flag "--al" (did you mean "--all"?)`],
      [["group", "pase", "g"], `jobs group has no command "pase" (did you mean "pause"?)`],
      [["logs", "--tial", "3", "x"], `jobs logs has no flag "--tial" (did you mean "--tail"?)`],
      [["frobnicate"], `jobs has no command "frobnicate" (one of: run,`]
    ]
    for (const [args, message] of cases) {
      const r = jobs(args, { home })
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr, args.join(" ")).toContain(message)
    }
    expect(Fs.existsSync(Path.join(home, "jobs")) ? Fs.readdirSync(Path.join(home, "jobs")) : []).toEqual([])
  })
})

describe.skipIf(!hasTmux && process.env.CI !== "true")("help in a real terminal", () => {
  it("fits 80 columns and uses 200 when there are 200", async () => {
    const home = tmp.home()
    const term = terminals.open(home)
    const fullScreen = async (columns: number, args: string) => {
      term.resize(columns, 60)
      term.type(`clear; node -- ${BIN} ${args}; echo "-- done $((1+1)) --"\n`)
      await eventually(() => (term.screen().includes("-- done 2 --") ? true : undefined), 20_000, `jobs ${args}`)
      return term.history().split("-- done 2 --").at(-2)!
    }
    for (const args of ["--help", "run --help", "stop --help"]) {
      const narrow = await fullScreen(80, args)
      expect(Math.max(...narrow.split("\n").map((l) => l.trimEnd().length)), args).toBeLessThanOrEqual(80)
      const wide = await fullScreen(200, args)
      expect(Math.max(...wide.split("\n").map((l) => l.trimEnd().length)), args).toBeLessThanOrEqual(200)
      if (args === "run --help") {
        // what is cut at 80 columns is whole at 200
        expect(narrow).toContain("…")
        expect(wide.split("\n").filter((l) => l.includes("…")).length).toBeLessThan(
          narrow.split("\n").filter((l) => l.includes("…")).length
        )
      }
    }
  })
})

describe("the examples in help", () => {
  it("run as they are, in order, in a fresh home", async () => {
    const home = tmp.home()
    homes.push(home)
    const bin = Path.join(tmp.dir(), "bin")
    Fs.mkdirSync(bin)
    Fs.symlinkSync(BIN, Path.join(bin, "job"))
    // `jobs` at a bash prompt is the shell's builtin: the README's function sends `jobs run …` to the program
    const readme = Fs.readFileSync(Path.resolve(import.meta.dirname, "../../README.md"), "utf8")
    const shim = /^jobs\(\) \{.*\}$/m.exec(readme)![0]
    const cwd = tmp.dir()
    for (const key of ["", "run", "logs", "stop"]) {
      for (const [line] of Help.EXAMPLES[key] ?? []) {
        if (!hasTmux && line.includes("--tmux")) continue
        const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = ChildProcess.spawn("bash", ["-c", `${shim}\n${line}`], {
            cwd,
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, JOBS_HOME: home, NODE_EXTRA_CA_CERTS: "" },
            stdio: ["ignore", "pipe", "pipe"]
          })
          let out = ""
          child.stdout.on("data", (d) => (out += d))
          child.stderr.on("data", (d) => (out += d))
          child.on("close", (code) => resolve({ code, out }))
        })
        expect(r.code, `${line}\n${r.out}`).toBe(0)
      }
    }
  })
})
