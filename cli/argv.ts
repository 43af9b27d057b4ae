// Splitting the command line before @effect/cli sees it: global flags (--home, --json) anywhere before `--`,
// and the job's argv after `--` (or from the first word that is not a flag of `jobs run`).

/** What the bin found in its arguments. */
export interface Split {
  /** Arguments for @effect/cli: the subcommand and its flags. */
  readonly cli: ReadonlyArray<string>
  /** The job's command (for `run`): exactly the argv, never re-parsed. */
  readonly command: ReadonlyArray<string>
  readonly json: boolean
  readonly home: string | undefined
  /** A global flag without its value. */
  readonly error: string | undefined
}

/** Flags of `jobs run` that take a value, so that their values are not mistaken for the command. */
const RUN_VALUE_FLAGS = new Set([
  "--name",
  "--cwd",
  "--env",
  "-e",
  "--env-file",
  "--timeout",
  "--key",
  "--grace",
  "--progress-pattern",
  "--group",
  "--priority",
  "--after",
  "--after-any",
  "--on-done",
  "--each",
  "--max-log-size",
  "--on",
  "--partition",
  "--cpus",
  "--mem",
  "--gpu",
  "--sbatch-arg",
  "--max-price",
  "--min-vram",
  "--cloud",
  "--min-cuda",
  "--provider",
  "--volume-disk",
  "--image",
  "--bootstrap",
  "--download",
  "--ssh-timeout"
])

/** What `--keep-alive` without `=DURATION` stands for (kept until terminated by hand or a sweep). */
export const KEEP_FOREVER = "@forever"

/** What `--on` without a name stands for (worker names start with a letter or digit). */
export const DEFAULT_WORKER = "@default"

/** Splits `process.argv.slice(2)`. */
export const split = (args: ReadonlyArray<string>): Split => {
  const dashdash = args.indexOf("--")
  const before = dashdash < 0 ? [...args] : args.slice(0, dashdash)
  let command = dashdash < 0 ? [] : args.slice(dashdash + 1)
  const cli: Array<string> = []
  let json = false
  let home: string | undefined
  let error: string | undefined
  let isRun = false
  let sawCommandName = false
  for (let i = 0; i < before.length; i++) {
    const arg = before[i]!
    if (arg === "--json") {
      json = true
      continue
    }
    if (arg === "--home" || arg.startsWith("--home=")) {
      const value = arg === "--home" ? before[++i] : arg.slice(7)
      if (value === undefined || value === "") error = "Cannot parse arguments: --home needs a directory"
      else home = value
      continue
    }
    if (!sawCommandName && !arg.startsWith("-")) {
      sawCommandName = true
      isRun = arg === "run"
      cli.push(arg)
      continue
    }
    if (isRun && dashdash < 0 && !arg.startsWith("-")) {
      // `jobs run CMD ARGS...` without `--`: the command starts at the first word that is no flag's value
      command = before.slice(i)
      break
    }
    // `--sbatch-arg=--qos=long`: @effect/cli takes no value that starts with a dash after "=", so it gets two words
    if (isRun && arg.startsWith("--sbatch-arg=")) {
      cli.push("--sbatch-arg", arg.slice("--sbatch-arg=".length))
      continue
    }
    cli.push(arg)
    // `--on` without a name means the default worker: say so with a value no worker name can be
    if (isRun && arg === "--on" && (i + 1 >= before.length || before[i + 1]!.startsWith("-"))) {
      cli.push(DEFAULT_WORKER)
      continue
    }
    // `--keep-alive` takes a value only as `--keep-alive=2h`: alone, it never eats the next word
    if (isRun && arg === "--keep-alive") {
      cli.push(KEEP_FOREVER)
      continue
    }
    if (isRun && RUN_VALUE_FLAGS.has(arg)) {
      if (i + 1 >= before.length) error = `Cannot parse arguments: ${arg} needs a value`
      else cli.push(before[++i]!)
    }
  }
  return { cli, command, json, home, error }
}
