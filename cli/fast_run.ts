// The start-up fast path of `jobs run`: a well-formed `jobs run [flags] -- CMD` is handled without loading
// @effect/cli (a third of the start-up time). Anything else — help, an unknown flag, a flag without its value —
// returns undefined and goes to the full CLI, so both paths behave the same; the work itself is shared
// (run_submit.ts).
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Executors from "../adapters/executors.ts"
import * as JobStore from "../core/job_store.ts"
import * as Submit from "../core/submit.ts"
import * as Argv from "./argv.ts"
import * as Invocation from "./invocation.ts"
import * as Outcome from "./outcome.ts"
import type * as RunSubmit from "./run_submit.ts"
import { submit } from "./run_submit.ts"

type Single =
  | "name"
  | "cwd"
  | "envFile"
  | "timeout"
  | "grace"
  | "key"
  | "progressPattern"
  | "group"
  | "priority"
  | "after"
  | "afterAny"
  | "onDone"
  | "each"
  | "maxLogSize"

const SINGLE: Record<string, Single> = {
  "--name": "name",
  "--cwd": "cwd",
  "--env-file": "envFile",
  "--timeout": "timeout",
  "--grace": "grace",
  "--key": "key",
  "--progress-pattern": "progressPattern",
  "--group": "group",
  "--priority": "priority",
  "--after": "after",
  "--after-any": "afterAny",
  "--on-done": "onDone",
  "--each": "each",
  "--max-log-size": "maxLogSize"
}

/** The flags of `jobs run`, or undefined when anything is unusual (the full parser then explains). */
export const parseFlags = (tokens: ReadonlyArray<string>): RunSubmit.RunFlags | undefined => {
  const single: Partial<Record<Single, string>> = {}
  const env: Array<string> = []
  let tmux = false
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    if (token === "--tmux" && !tmux) {
      tmux = true
      continue
    }
    const eq = token.startsWith("--") ? token.indexOf("=") : -1
    const flag = eq < 0 ? token : token.slice(0, eq)
    const value = eq < 0 ? tokens[++i] : token.slice(eq + 1)
    if (value === undefined || (eq < 0 && value.startsWith("-"))) return undefined
    if (flag === "--env" || flag === "-e") env.push(value)
    else {
      const key = SINGLE[flag]
      if (key === undefined || single[key] !== undefined) return undefined
      single[key] = value
    }
  }
  const opt = (key: Single) => Option.fromNullable(single[key])
  return {
    name: opt("name"),
    cwd: opt("cwd"),
    env,
    envFile: opt("envFile"),
    timeout: opt("timeout"),
    grace: opt("grace"),
    key: opt("key"),
    progressPattern: opt("progressPattern"),
    group: opt("group"),
    priority: opt("priority"),
    after: opt("after"),
    afterAny: opt("afterAny"),
    onDone: opt("onDone"),
    each: opt("each"),
    maxLogSize: opt("maxLogSize"),
    // `--on` is never on the fast path (the parser sent it back above): a remote run loads the SSH stack
    on: Option.none(),
    noSync: false,
    tmux,
    // attaching needs the full CLI (the summary afterwards reads the job through the Jobs service)
    attach: false,
    // `--slurm` and its flags are never on the fast path either: the parser sends them back above
    slurm: false,
    partition: Option.none(),
    cpus: Option.none(),
    mem: Option.none(),
    gpu: Option.none(),
    sbatchArg: []
  }
}

/** Runs `jobs run` if the command line is on the fast path; undefined otherwise. */
export const tryRun = (args: ReadonlyArray<string>, version: string): Promise<number> | undefined => {
  const split = Argv.split(args)
  if (split.error !== undefined || split.cli[0] !== "run") return undefined
  if (split.command.length === 0 && !split.cli.includes("--each")) return undefined
  const flags = parseFlags(split.cli.slice(1))
  if (flags === undefined) return undefined
  const invocation = Invocation.make(split, version)
  const submitter = Submit.make(JobStore.make(invocation.home), Executors.executors)
  const program = submit(flags, submitter.submit, submitter.submitMany).pipe(
    Effect.provideService(Invocation.Invocation, invocation),
    Effect.provide(Logger.replace(Logger.defaultLogger, Outcome.stderrLogger)),
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )
  return Effect.runPromiseExit(program).then((exit) => Outcome.exitCode(exit, undefined, split.json))
}
