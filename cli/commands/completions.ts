// jobs completions SHELL: print the completion script of bash, zsh or fish (for both `jobs` and `job`); `jobs
// completions install [SHELL]` writes it where that shell looks for completions.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput, StorageError } from "../../core/errors.ts"
import { makeDirs } from "../../core/job_store.ts"
import * as Scripts from "../completion_scripts.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const shellArg = Args.choice(
  Scripts.SHELLS.map((s) => [s, s] as const),
  { name: "SHELL" }
)

/** Where a shell finds completions, and what to tell the user when it will not find them there yet. */
interface Target {
  readonly files: ReadonlyArray<string>
  readonly note: string | undefined
}

const dataHome = () => process.env.XDG_DATA_HOME || Path.join(Os.homedir(), ".local", "share")
const configHome = () => process.env.XDG_CONFIG_HOME || Path.join(Os.homedir(), ".config")

/** zsh's $fpath as an interactive zsh sets it up (the user's .zshrc included), or [] when zsh cannot say. */
const zshFpath = (): ReadonlyArray<string> => {
  const result = ChildProcess.spawnSync("zsh", ["-i", "-c", "print -rl -- $fpath"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: 5000
  })
  return result.status === 0 ? result.stdout.split("\n").filter((l) => l.startsWith("/")) : []
}

const targetOf = (shell: Scripts.Shell): Target => {
  const home = Os.homedir()
  switch (shell) {
    case "bash": {
      const dir = Path.join(dataHome(), "bash-completion", "completions")
      return {
        files: [Path.join(dir, "jobs"), Path.join(dir, "job")],
        note:
          "bash-completion loads it at the first `job <Tab>` (`jobs` keeps the builtin's completion until then); " +
          `to load it at start, or without bash-completion, add to ~/.bashrc: source ${Render.tildify(Path.join(dir, "job"))}`
      }
    }
    case "zsh": {
      // `_job`, not `_jobs`: zsh has a `_jobs` of its own (job specs for kill, fg, ...)
      const fpath = zshFpath()
      const known = [
        Path.join(home, ".zsh", "completions"),
        Path.join(home, ".zfunc"),
        Path.join(home, ".zsh", "functions"),
        Path.join(dataHome(), "zsh", "site-functions")
      ]
      const dir = known.find((d) => fpath.includes(d))
      if (dir !== undefined) return { files: [Path.join(dir, "_job")], note: undefined }
      const fallback = known[0]!
      return {
        files: [Path.join(fallback, "_job")],
        note: `${Render.tildify(fallback)} is not in zsh's fpath: add to ~/.zshrc, before compinit: fpath=(${Render.tildify(fallback)} $fpath)`
      }
    }
    case "fish": {
      const dir = Path.join(configHome(), "fish", "completions")
      return { files: [Path.join(dir, "jobs.fish"), Path.join(dir, "job.fish")], note: undefined }
    }
  }
}

/** Writes `text` to `file` unless it is there already; whether it changed. */
const writeIfChanged = (file: string, text: string) =>
  Effect.try({
    try: () => {
      let current: string | undefined
      try {
        current = Fs.readFileSync(file, "utf8")
      } catch {
        current = undefined
      }
      if (current === text) return false
      makeDirs(Path.dirname(file))
      Fs.writeFileSync(`${file}.tmp`, text, { mode: 0o644 })
      Fs.renameSync(`${file}.tmp`, file)
      return true
    },
    catch: (cause) => new StorageError({ action: "write completion script", path: file, cause })
  })

/** `jobs completions install [SHELL]` */
const install = Command.make(
  "install",
  { shell: shellArg.pipe(Args.withDescription("bash, zsh or fish (default: the one $SHELL names)"), Args.optional) },
  Effect.fn("jobs.completions.install")(function* ({ shell }) {
    const invocation = yield* Invocation
    const fromEnv = Path.basename(process.env.SHELL ?? "")
    const chosen = Option.getOrElse(shell, () => fromEnv)
    if (!Scripts.isShell(chosen)) {
      return yield* new InvalidInput({
        message: `Cannot install completions: ${
          fromEnv === "" ? "$SHELL is not set" : `no completions for shell "${fromEnv}"`
        } (name one: jobs completions install bash|zsh|fish)`
      })
    }
    const target = targetOf(chosen)
    const text = Scripts.script(chosen)
    const written: Array<{ readonly path: string; readonly changed: boolean }> = []
    for (const file of target.files) written.push({ path: file, changed: yield* writeIfChanged(file, text) })
    if (invocation.json) return yield* Render.json({ shell: chosen, files: written, note: target.note ?? null })
    for (const { path, changed } of written) yield* Render.line(changed ? `installed ${path}` : `${path} is up to date`)
    if (target.note !== undefined) yield* Render.note(`note: ${target.note}`)
  })
).pipe(Command.withDescription("Write the completion script where the shell finds it (idempotent)"))

/** `jobs completions SHELL | install [SHELL]` */
export const command = Command.make(
  "completions",
  { shell: shellArg.pipe(Args.withDescription("bash, zsh or fish"), Args.optional) },
  Effect.fn("jobs.completions")(function* ({ shell }) {
    if (Option.isNone(shell)) {
      return yield* new InvalidInput({
        message: "Cannot print completions: name a shell (jobs completions bash|zsh|fish, or jobs completions install)"
      })
    }
    yield* Render.out(Scripts.script(shell.value))
  })
).pipe(
  Command.withDescription(
    "Shell completion for jobs and job: print the script of bash, zsh or fish (commands, flags, job names and ids, " +
      "workers, groups), or install it"
  ),
  Command.withSubcommands([install])
)
