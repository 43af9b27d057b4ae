// The job a command means when it is given none (`jobs logs`, `jobs wait`, `jobs attach`).
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput } from "../core/errors.ts"
import * as Ids from "../core/ids.ts"
import { Jobs } from "../core/jobs.ts"
import { projectScope } from "./_shared.ts"
import { Invocation } from "./invocation.ts"
import * as Render from "./render.ts"

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
    yield* Render.note(`jobs: ${command} ${Ids.label(job.id, job.name)}, the newest job of this project`)
    return job.id
  })
