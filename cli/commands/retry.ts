// jobs retry: run a job again with the same spec and environment.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { Jobs } from "../../core/jobs.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs retry ID` */
export const command = Command.make(
  "retry",
  { id: Args.text({ name: "ID" }).pipe(Args.withDescription("The job to run again")) },
  Effect.fn("jobs.retry")(function* ({ id }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const { job } = yield* jobs.retry(id)
    yield* invocation.json ? Render.json({ ...job, existing: false }) : Render.line(job.shortId)
  })
).pipe(Command.withDescription("Start a new job with the same command, cwd and environment (linked by retryOf)"))
