// The Invocation service: what the bin learned from the command line before @effect/cli parsed it.
import * as Context from "effect/Context"

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
