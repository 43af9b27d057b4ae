// Shell completion as a user gets it: `jobs completions install` for each shell, then Tab in real bash (the
// registered completion function, called with COMP_WORDS as readline sets it), real zsh (an interactive shell in a
// tmux pane, its menu read off the screen) and real fish (`complete -C`), under both names, `job` and `jobs`.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Home from "../../core/home.ts"
import * as Workers from "../../core/workers.ts"
import { BIN, eventually, jobs, jobsAsync } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Terminal from "../support/terminal.ts"

const tmp = scratch()
const sockets: Array<string> = []
afterAll(() => {
  for (const socket of sockets) Terminal.tmuxOf(socket, ["kill-server"])
  tmp.cleanup()
})

const has = (tool: string, flag = "--version") => ChildProcess.spawnSync(tool, [flag]).status === 0
const inCi = process.env.CI === "true"
/** Skipped (loudly) outside CI when a shell is missing; in CI the tests run, and fail. */
const missing = (tools: ReadonlyArray<readonly [string, string?]>): boolean => {
  const absent = tools.filter(([tool, flag]) => !has(tool, flag)).map(([tool]) => tool)
  if (absent.length === 0 || inCi) return false
  console.warn(`completions.test.ts: ${absent.join(", ")} missing (apt-get install ${absent.join(" ")}): skipped`)
  return true
}

const NAMES = ["job", "jobs"] as const

let home = ""
let user = ""
let env: Record<string, string> = {}
const ids: Record<string, string> = {}

beforeAll(() => {
  const root = tmp.dir()
  home = Path.join(root, "home")
  user = Path.join(root, "user")
  const bin = Path.join(root, "bin")
  Fs.mkdirSync(user)
  Fs.mkdirSync(bin)
  for (const name of NAMES) Fs.symlinkSync(BIN, Path.join(bin, name))
  env = {
    HOME: user,
    PATH: [bin, Path.dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
    JOBS_HOME: home,
    TERM: "xterm",
    LANG: "C.UTF-8"
  }
  for (const name of ["build", "deploy"]) {
    const r = jobs(["run", "--name", name, "--", "true"], { home })
    expect(r.code, r.stderr).toBe(0)
    ids[name] = r.stdout.trim()
  }
  expect(jobs(["group", "set", "gpu", "--parallel", "2"], { home }).code).toBe(0)
  Workers.write(Home.layout(home), [
    { name: "w1", connection: "me@example.org", remoteHome: "~/.jobs", isDefault: true }
  ])
})

/** `jobs completions install SHELL` as the test's user; the files it says it wrote. */
const install = (shell: string): Array<string> => {
  const r = jobs(["completions", "install", shell], { home, env: { ...env, XDG_DATA_HOME: "", XDG_CONFIG_HOME: "" } })
  expect(r.code, r.stderr).toBe(0)
  const files = [...r.stdout.matchAll(/^installed (.*)$/gm)].map((m) => m[1]!)
  expect(files.length).toBeGreaterThan(0)
  for (const file of files) expect(Fs.existsSync(file), file).toBe(true)
  return files
}

const run = (command: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) =>
    ChildProcess.execFile(command, args, { env, cwd: user, timeout: 60_000 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${command} failed: ${stderr}`))
    )
  )

/** What each shell should offer, as words typed (the last one under the cursor) and the candidates expected. */
const cases = (): ReadonlyArray<readonly [ReadonlyArray<string>, (offered: ReadonlyArray<string>) => void]> => [
  [[""], (o) => expect(o).toEqual(expect.arrayContaining(["run", "logs", "worker", "gpu", "group", "completions"]))],
  [["run", "--gr"], (o) => expect(o).toEqual(["--grace", "--group"])],
  [["worker", ""], (o) => expect(o).toEqual(["add", "default", "ls", "register", "rm"])],
  [["gpu", ""], (o) => expect(o).toEqual(expect.arrayContaining(["offers", "terminate", "emulator"]))],
  // names and short ids, newest first
  [["logs", ""], (o) => expect(o).toEqual(["deploy", ids.deploy, "build", ids.build])],
  [["logs", "bu"], (o) => expect(o).toEqual(["build"])],
  [["logs", ids.build!.slice(0, 5)], (o) => expect(o).toEqual([ids.build])],
  [["run", "--group", ""], (o) => expect(o).toEqual(["gpu"])],
  [["worker", "rm", ""], (o) => expect(o).toEqual(["w1"])],
  [["run", "--on", "w"], (o) => expect(o).toEqual(["w1"])]
]

describe.skipIf(missing([["bash"]]))("bash", () => {
  it("completes commands, flags, worker subcommands, job names and ids, groups for job and jobs", async () => {
    const [file] = install("bash")
    const lines: Array<string> = [
      `source ${JSON.stringify(file)}`,
      // as readline calls it: the function `complete -p` registered for the command, with COMP_* set
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}
      't() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()',
      '  local spec; spec=$(complete -p "$1") || { echo "no completion for $1"; return; }',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}
      '  local f=${spec#*-F }; f=${f%% *}; "$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}
      '  local IFS="|"; echo "${COMPREPLY[*]}"; }'
    ]
    const all = NAMES.flatMap((name) => cases().map(([words, check]) => [[name, ...words], check] as const))
    for (const [words] of all) lines.push(`t ${words.map((w) => `'${w}'`).join(" ")}`)
    // bash splits --group=g at "=" (COMP_WORDBREAKS): the function gets "--group" "=" "g", and offers what follows
    lines.push("t job stop --group = g", "t jobs stop --group = ''")
    const out = (await run("bash", ["--norc", "--noprofile", "-c", lines.join("\n")])).split("\n")
    all.forEach(([words, check], i) => {
      const offered = out[i] === "" ? [] : out[i]!.split("|")
      try {
        check(offered)
      } catch (e) {
        throw new Error(`bash: ${words.join(" ")}<Tab> offered ${JSON.stringify(offered)}: ${e}`)
      }
    })
    expect(out.slice(all.length, all.length + 2)).toEqual(["gpu", "gpu"])
  })
})

describe.skipIf(missing([["fish"]]))("fish", () => {
  it("completes commands, flags, worker subcommands, job names and ids, groups for job and jobs", async () => {
    install("fish")
    const all = NAMES.flatMap((name) => cases().map(([words, check]) => [[name, ...words], check] as const))
    // one fish for all: each `complete -C` answer, then a separator line
    const script = all.map(([words]) => `complete -C ${shellWord(words.join(" "))}; echo ---`).join("\n")
    const answers = (
      await run("fish", [
        "--no-config",
        "-c",
        `set fish_complete_path ~/.config/fish/completions $fish_complete_path\n${script}`
      ])
    ).split("---\n")
    all.forEach(([words, check], i) => {
      const offered = answers[i]!.split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("\t")[0]!)
      try {
        check(offered)
      } catch (e) {
        throw new Error(`fish: ${words.join(" ")}<Tab> offered ${JSON.stringify(offered)}: ${e}`)
      }
    })
  })
})

const shellWord = (text: string) => `'${text.replace(/'/g, "\\'")}'`

describe.skipIf(missing([["zsh"], ["tmux", "-V"]]))("zsh", () => {
  it("completes commands, flags, worker subcommands, job names and ids, groups for job and jobs", async () => {
    const [file] = install("zsh")
    const socket = Path.join(tmp.dir(), "zsh.sock")
    sockets.push(socket)
    const tmux = (...args: ReadonlyArray<string>) => Terminal.tmuxOf(socket, args)
    const vars = Object.entries(env).map(([k, v]) => `${k}=${shellWord(v)}`)
    const start = tmux(
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      "150",
      "-y",
      "50",
      "-s",
      "z",
      `env -i ${vars.join(" ")} zsh -f`
    )
    expect(start.status, start.stderr).toBe(0)
    const screen = () => tmux("capture-pane", "-p", "-t", "z").stdout
    const prompt = async () => {
      tmux("send-keys", "-t", "z", "C-c")
      tmux("send-keys", "-t", "z", "-l", "clear")
      tmux("send-keys", "-t", "z", "Enter")
      await eventually(() => (screen().trim() === "%" ? true : undefined), 20_000, "a clear zsh prompt")
    }
    // compinit must run to its end before anything else is typed (a Ctrl+C would cut it short)
    const setup = `PS1='%% '; fpath=(${Path.dirname(file!)} $fpath); autoload -U compinit; compinit -u -D; print READY-$((6*7))`
    tmux("send-keys", "-t", "z", "-l", setup)
    tmux("send-keys", "-t", "z", "Enter")
    await eventually(() => (screen().includes("READY-42") ? true : undefined), 20_000, "zsh's compinit")
    await prompt()
    /** Types `line`, presses Tab, and waits until the screen shows what `expected` matches. */
    const tab = async (line: string, expected: RegExp) => {
      tmux("send-keys", "-t", "z", "-l", line)
      tmux("send-keys", "-t", "z", "Tab")
      await eventually(
        () => (expected.test(screen()) ? true : undefined),
        20_000,
        `${line}<Tab> to show ${expected}`
      ).catch((e) => {
        throw new Error(`${e.message}; the screen:\n${screen()}`)
      })
      await prompt()
    }
    for (const name of NAMES) {
      await tab(`${name} `, /^completions +-- .*\n(.*\n)*^worker +-- /m)
      await tab(`${name} run --gr`, /^--grace +-- .*\n--group +-- /m)
      await tab(`${name} worker `, /^add +-- .*\n(.*\n)*^rm +-- /m)
      await tab(`${name} gpu `, /^emulator +-- (.*\n)*^terminate +-- /m)
      // newest first, each name beside its short id
      await tab(
        `${name} logs `,
        new RegExp(
          `^deploy +-- ${ids.deploy}\n${ids.deploy} +-- deploy\nbuild +-- ${ids.build}\n${ids.build} +-- build`,
          "m"
        )
      )
      await tab(`${name} logs bu`, new RegExp(`^% ${name} logs build\\s*$`, "m"))
      await tab(`${name} logs ${ids.build!.slice(0, 5)}`, new RegExp(`^% ${name} logs ${ids.build}\\s*$`, "m"))
      await tab(`${name} run --group `, new RegExp(`^% ${name} run --group gpu\\s*$`, "m"))
      await tab(`${name} worker rm `, new RegExp(`^% ${name} worker rm w1\\s*$`, "m"))
    }
  })
})

describe("jobs __complete", () => {
  it("is not held up or fooled by what a job could plant in its folder (a FIFO, a link, a name with escapes)", async () => {
    const planted = tmp.home()
    expect(jobs(["run", "--name", "real", "--", "true"], { home: planted }).code).toBe(0)
    const jobsDir = Path.join(planted, "jobs")
    const fifo = Path.join(jobsDir, "01JD7X4ZK3M0Q8V2N6R5T1W9YH")
    Fs.mkdirSync(fifo)
    ChildProcess.execFileSync("mkfifo", [Path.join(fifo, "events.jsonl")])
    const link = Path.join(jobsDir, "01JD7X4ZK3M0Q8V2N6R5T1W9YJ")
    Fs.mkdirSync(link)
    Fs.writeFileSync(Path.join(planted, "secret"), '{"type":"Submitted","spec":{"name":"from-a-link"}}\n')
    Fs.symlinkSync(Path.join(planted, "secret"), Path.join(link, "events.jsonl"))
    const escaped = Path.join(jobsDir, "01JD7X4ZK3M0Q8V2N6R5T1W9YK")
    Fs.mkdirSync(escaped)
    Fs.writeFileSync(
      Path.join(escaped, "events.jsonl"),
      `${JSON.stringify({ type: "Submitted", spec: { name: "evil\tname\u001b]0;x\u0007" } })}\n`
    )
    const r = await jobsAsync(["__complete", "logs", ""], { home: planted })
    expect(r.code).toBe(0)
    const values = r.stdout
      .split("\n")
      .slice(1, -1)
      .map((l) => l.split("\t")[0])
    expect(values).toContain("real")
    expect(values).toContain("r5t1w9yh")
    expect(values).not.toContain("from-a-link")
    expect(values.filter((v) => v!.startsWith("evil"))).toEqual([])
    // one tab a line (value, description), and no escape sequence for the terminal
    for (const line of r.stdout.split("\n")) expect(line.split("\t").length, line).toBeLessThanOrEqual(2)
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
  })
})

describe("jobs completions install", () => {
  it("takes the shell from $SHELL, writes both names, and changes nothing the second time", () => {
    const me = tmp.dir()
    const as = { HOME: me, SHELL: "/usr/bin/fish", XDG_CONFIG_HOME: "", XDG_DATA_HOME: "" }
    const first = jobs(["completions", "install", "--json"], { home, env: as })
    expect(first.code, first.stderr).toBe(0)
    const files = Path.join(me, ".config", "fish", "completions")
    expect(JSON.parse(first.stdout)).toEqual({
      shell: "fish",
      files: [
        { path: Path.join(files, "jobs.fish"), changed: true },
        { path: Path.join(files, "job.fish"), changed: true }
      ],
      note: null
    })
    const again = jobs(["completions", "install"], { home, env: as })
    expect(again.stdout).toBe(
      `${Path.join(files, "jobs.fish")} is up to date\n${Path.join(files, "job.fish")} is up to date\n`
    )
    // the alias of the old flag prints the same script as the command
    expect(jobs(["--completions", "fish"]).stdout).toBe(Fs.readFileSync(Path.join(files, "job.fish"), "utf8"))
    const unknown = jobs(["completions", "install"], { home, env: { ...as, SHELL: "/bin/tcsh" } })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^Cannot install completions: no completions for shell "tcsh"/)
  })
})
