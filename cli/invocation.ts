// The Invocation service: what the bin learned from the command line before @effect/cli parsed it.
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
  env: process.env
})
