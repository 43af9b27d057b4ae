// jobs logs: a job's output, optionally following it until the job ends.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Jobs } from "../../core/jobs.ts"
import { Follow } from "../../events/mod.ts"
import { Invocation } from "../invocation.ts"
import { givenOrNewest } from "../pick.ts"
import * as ProgressBar from "../progress_bar.ts"
import * as Render from "../render.ts"

/** `jobs logs ID [--tail N] [-f]` */
export const command = Command.make(
  "logs",
  {
    id: Args.text({ name: "ID" }).pipe(
      Args.withDescription("Job id, short id, name or unique prefix (default: the newest job of this project)"),
      Args.optional
    ),
    tail: Options.integer("tail").pipe(
      Options.withAlias("n"),
      Options.withDescription("Only the last N lines"),
      Options.optional
    ),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep printing new output until the job ends")
    )
  },
  Effect.fn("jobs.logs")(function* ({ id, tail, follow }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const job = yield* jobs.get(yield* givenOrNewest(id, "logs"))
    const stream = jobs.output(job.id, { follow, ...(Option.isSome(tail) ? { tailLines: tail.value } : {}) })
    if (invocation.json) {
      yield* stream.pipe(
        Follow.lines,
        Stream.runForEach((line) => Render.jsonLine({ job: job.id, line }))
      )
    } else if (follow) {
      // the bar sits below the output: cleared before each chunk, drawn again after a complete line
      yield* ProgressBar.showing(jobs, job.id, (bar) =>
        Stream.runForEach(stream, (chunk) =>
          Effect.zipRight(
            Effect.zipRight(bar.clear, Render.out(chunk)),
            chunk[chunk.length - 1] === 10 ? bar.redraw : Effect.void
          )
        )
      )
    } else {
      yield* Stream.runForEach(stream, Render.out)
    }
  })
).pipe(Command.withDescription("Print a job's output (stdout and stderr); -f follows it until the job ends"))
