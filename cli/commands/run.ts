// jobs run: start a command in the background and return at once.

import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as EnvFile from "../../core/env_file.ts"
import { InvalidInput } from "../../core/errors.ts"
import { Jobs } from "../../core/jobs.ts"
import { durationFlag } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const options = {
  name: Options.text("name").pipe(Options.withDescription("A name to refer to the job by"), Options.optional),
  cwd: Options.text("cwd").pipe(
    Options.withDescription("Directory to run in (default: the current one)"),
    Options.optional
  ),
  env: Options.text("env").pipe(
    Options.withAlias("e"),
    Options.withDescription("K=V sets a variable, K passes the current value (repeatable)"),
    Options.repeated
  ),
  envFile: Options.text("env-file").pipe(
    Options.withDescription("Read NAME=value lines from a file"),
    Options.optional
  ),
  timeout: Options.text("timeout").pipe(
    Options.withDescription("Stop the job after this long (90s, 30m, 2h): TERM, then KILL after the grace"),
    Options.optional
  ),
  grace: Options.text("grace").pipe(
    Options.withDescription("Time between TERM and KILL on stop or timeout (default 10s)"),
    Options.optional
  ),
  key: Options.text("key").pipe(
    Options.withDescription("Idempotency key: a second run with the same key returns the first job"),
    Options.optional
  )
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

/** `jobs run [flags] -- CMD [ARGS...]` */
export const command = Command.make(
  "run",
  options,
  Effect.fn("jobs.run")(function* (opts) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const timeoutSecs = yield* durationFlag("timeout", opts.timeout)
    const graceSecs = yield* durationFlag("grace", opts.grace)
    const cwd = Path.resolve(
      invocation.cwd,
      Option.getOrElse(opts.cwd, () => ".")
    )
    const env = yield* buildEnv(invocation.env, opts.env, opts.envFile, invocation.cwd)
    const { job, existing } = yield* jobs.submit({
      command: invocation.command,
      cwd,
      env,
      name: Option.getOrNull(opts.name),
      timeoutSecs,
      graceSecs,
      key: Option.getOrNull(opts.key)
    })
    if (existing) {
      yield* Render.note(`jobs: key "${job.key}" already names job ${job.shortId} (${job.status}); not started again`)
    }
    if (invocation.json) yield* Render.json({ ...job, existing })
    else yield* Render.line(job.shortId)
  })
).pipe(
  Command.withDescription(
    "Start CMD in the background and print its short id. The command is the argv after --, run without a shell " +
      "(for a pipeline: jobs run -- sh -c '...')."
  )
)
