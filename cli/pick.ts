// The job a command means when it is given none (`jobs logs`, `jobs wait`, `jobs attach`).
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput } from "../core/errors.ts"
import { Jobs } from "../core/jobs.ts"
import { projectScope } from "./_shared.ts"
import { Invocation } from "./invocation.ts"

/**
 * The job a command means: the one given, else the newest job of the current project (as nq and tsp do), named on
 * stderr so the user sees which one was picked.
 */
export const givenOrNewest = (id: Option.Option<string>, command: string) =>
  Effect.gen(function* () {
    if (Option.isSome(id)) return id.value
    const invocation = yield* Invocation
    const { jobs: newest } = yield* (yield* Jobs).list({ project: projectScope(false, invocation.cwd), limit: 1 })
    const job = newest[0]
    if (job === undefined) {
      return yield* new InvalidInput({
        message: `Cannot pick a job for jobs ${command}: this project has none (give an ID; jobs list --all)`
      })
    }
    yield* Effect.sync(() =>
      process.stderr.write(
        `jobs: ${command} ${job.name == null ? job.shortId : `${job.name} (${job.shortId})`}, the newest job of this project\n`
      )
    )
    return job.id
  })
