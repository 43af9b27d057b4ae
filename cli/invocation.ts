// The Invocation service: what the bin learned from the command line before @effect/cli parsed it.
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Home from "../core/home.ts"
import type * as Argv from "./argv.ts"

/** Global flags and the job's argv (after `--`). */
export class Invocation extends Context.Tag("jobs/cli/Invocation")<
  Invocation,
  {
    readonly json: boolean
    readonly home: string
    readonly command: ReadonlyArray<string>
    readonly version: string
    readonly cwd: string
    readonly env: Readonly<Record<string, string | undefined>>
  }
>() {}

/** The invocation of a split command line, in this process. */
export const make = (split: Argv.Split, version: string): Invocation["Type"] => ({
  json: split.json,
  home: Home.resolve(split.home),
  command: split.command,
  version,
  cwd: process.cwd(),
  env: absoluteHome(process.env)
})

/**
 * The environment with a relative JOBS_HOME made absolute (it is resolved once, at start): a job, a hook or a
 * helper that inherits it must find the same home from wherever it runs.
 */
const absoluteHome = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  env.JOBS_HOME === undefined || env.JOBS_HOME === "" || Path.isAbsolute(env.JOBS_HOME)
    ? env
    : { ...env, JOBS_HOME: Path.resolve(env.JOBS_HOME) }
