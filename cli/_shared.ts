// Helpers the subcommands share: flag parsing that fails with one clear line, and the exit-code signal.
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Duration from "../core/duration.ts"
import { InvalidInput } from "../core/errors.ts"
import * as JobState from "../core/job_state.ts"
import * as Project from "../core/project.ts"

/** Ends the program with this exit code once its output is printed (`jobs wait` mirrors the job's code). */
export class ExitWith extends Data.TaggedError("ExitWith")<{ readonly code: number }> {}

/** Seconds in an optional duration flag, or a usage error naming the flag. */
export const durationFlag = (flag: string, value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) => {
      const secs = Duration.parseSeconds(text)
      return secs === undefined
        ? Effect.fail(
            new InvalidInput({ message: `Cannot parse --${flag} "${text}": use a duration such as 90s, 30m, 2h or 7d` })
          )
        : Effect.succeed(secs)
    }
  })

/** The statuses of an optional `--status a,b` flag, or a usage error listing the valid ones. */
export const statusFlag = (value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) => {
      const statuses = text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
      const bad = statuses.find((s) => !(JobState.STATUSES as ReadonlyArray<string>).includes(s))
      return bad !== undefined || statuses.length === 0
        ? Effect.fail(
            new InvalidInput({
              message: `Cannot filter by status "${bad ?? text}": use one of ${JobState.STATUSES.join(", ")}`
            })
          )
        : Effect.succeed(statuses as Array<JobState.Status>)
    }
  })

/** The project of the current directory, unless `--all`. */
export const projectScope = (all: boolean, cwd: string): string | undefined => (all ? undefined : Project.detect(cwd))
