// What `jobs run` does once its flags are parsed, shared by the full CLI and the start-up fast path.

import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as EnvFile from "../core/env_file.ts"
import { InvalidInput } from "../core/errors.ts"
import type * as Submit from "../core/submit.ts"
import { durationFlag } from "./_shared.ts"
import { Invocation } from "./invocation.ts"
import * as Render from "./render.ts"

/** The flags of `jobs run`. */
export interface RunFlags {
  readonly name: Option.Option<string>
  readonly cwd: Option.Option<string>
  readonly env: ReadonlyArray<string>
  readonly envFile: Option.Option<string>
  readonly timeout: Option.Option<string>
  readonly grace: Option.Option<string>
  readonly key: Option.Option<string>
  readonly progressPattern: Option.Option<string>
  readonly onDone: Option.Option<string>
  readonly group: Option.Option<string>
  readonly priority: Option.Option<string>
  readonly after: Option.Option<string>
  readonly afterAny: Option.Option<string>
  readonly tmux: boolean
  readonly attach: boolean
}

const buildEnv = Effect.fn("jobs.run.env")(function* (
  base: Readonly<Record<string, string | undefined>>,
  flags: ReadonlyArray<string>,
  envFile: Option.Option<string>,
  cwd: string
) {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v
  if (Option.isSome(envFile)) {
    const path = Path.resolve(cwd, envFile.value)
    let text: string
    try {
      text = Fs.readFileSync(path, "utf8")
    } catch (e) {
      return yield* new InvalidInput({
        message: `Cannot read env file "${envFile.value}": ${(e as NodeJS.ErrnoException).code ?? String(e)}`
      })
    }
    const parsed = EnvFile.parseDotenv(text)
    if (typeof parsed === "string") {
      return yield* new InvalidInput({ message: `Cannot read env file "${envFile.value}": ${parsed}` })
    }
    Object.assign(env, parsed)
  }
  for (const flag of flags) {
    const eq = flag.indexOf("=")
    const name = eq < 0 ? flag : flag.slice(0, eq)
    if (!EnvFile.isValidName(name)) {
      return yield* new InvalidInput({ message: `Cannot set env "${flag}": "${name}" is not a variable name` })
    }
    if (eq >= 0) env[name] = flag.slice(eq + 1)
    else {
      const value = base[name]
      if (value === undefined) {
        return yield* new InvalidInput({ message: `Cannot pass env "${name}": it is not set in this shell` })
      }
      env[name] = value
    }
  }
  return env
})

/** Submits (with `submitJob`, the Jobs service's or the fast path's) the job of an invocation of `jobs run` and prints its short id (or, with --json, the job object). */
export const submit = Effect.fn("jobs.run")(function* (
  flags: RunFlags,
  submitJob: ReturnType<typeof Submit.make>["submit"]
) {
  const invocation = yield* Invocation
  if (flags.attach && !flags.tmux) {
    return yield* new InvalidInput({ message: "Cannot attach to a job without a terminal: --attach needs --tmux" })
  }
  const timeoutSecs = yield* durationFlag("timeout", flags.timeout)
  const priority = Option.isNone(flags.priority) ? undefined : Number(flags.priority.value)
  if (priority !== undefined && !Number.isInteger(priority)) {
    return yield* new InvalidInput({
      message: `Cannot parse --priority "${Option.getOrThrow(flags.priority)}": use a whole number`
    })
  }
  if (Option.isSome(flags.after) && Option.isSome(flags.afterAny)) {
    return yield* new InvalidInput({ message: "Cannot wait for jobs both ways: use --after or --after-any, not both" })
  }
  const afterList = Option.orElse(flags.after, () => flags.afterAny).pipe(
    Option.map((text) =>
      text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
    )
  )
  const graceSecs = yield* durationFlag("grace", flags.grace)
  const cwd = Path.resolve(
    invocation.cwd,
    Option.getOrElse(flags.cwd, () => ".")
  )
  const env = yield* buildEnv(invocation.env, flags.env, flags.envFile, invocation.cwd)
  const { job, existing } = yield* submitJob({
    command: invocation.command,
    cwd,
    env,
    name: Option.getOrNull(flags.name),
    timeoutSecs,
    graceSecs,
    key: Option.getOrNull(flags.key),
    executor: flags.tmux ? "tmux" : "local",
    progressPattern: Option.getOrNull(flags.progressPattern),
    group: Option.getOrNull(flags.group),
    onDone: Option.getOrNull(flags.onDone),
    ...(priority === undefined ? {} : { priority }),
    after: Option.isSome(afterList) ? { jobs: afterList.value, any: Option.isSome(flags.afterAny) } : null
  })
  if (existing) {
    yield* Render.note(`jobs: key "${job.key}" already names job ${job.shortId} (${job.status}); not started again`)
  }
  if (invocation.json) yield* Render.json({ ...job, existing })
  else yield* Render.line(job.shortId)
  return job
})
