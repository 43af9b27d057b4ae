// jobs stop: stop jobs (signal, grace, then KILL to the whole process group). Idempotent.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Jobs } from "../../core/jobs.ts"
import { durationFlag } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs stop ID... [--signal SIG] [--grace 10s]` */
export const command = Command.make(
  "stop",
  {
    ids: Args.text({ name: "ID" }).pipe(Args.withDescription("Jobs to stop"), Args.atLeast(1)),
    signal: Options.text("signal").pipe(
      Options.withAlias("s"),
      Options.withDescription("The first signal to send (default TERM)"),
      Options.optional
    ),
    grace: Options.text("grace").pipe(
      Options.withDescription("How long to wait before KILL (default: the job's, 10s)"),
      Options.optional
    )
  },
  Effect.fn("jobs.stop")(function* ({ ids, signal, grace }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const graceSecs = yield* durationFlag("grace", grace)
    const results = []
    for (const id of ids) {
      const { job, alreadyEnded } = yield* jobs.stop(id, {
        ...(Option.isSome(signal) ? { signal: signal.value } : {}),
        ...(graceSecs === undefined ? {} : { graceSecs })
      })
      results.push({ ...job, alreadyEnded })
      if (!invocation.json) {
        yield* alreadyEnded
          ? Render.line(`${job.shortId} already ended (${Render.statusText(job)})`)
          : Render.line(`${job.shortId} ${Render.statusText(job)}`)
      }
    }
    if (invocation.json) yield* Render.json(results)
  })
).pipe(
  Command.withDescription(
    "Stop jobs: send the signal to the job's whole process group, KILL what is left after the grace, and wait " +
      "until it has ended. Stopping an ended job changes nothing."
  )
)
