// jobs attach: put this terminal into a tmux job's session (Ctrl+B D detaches again).
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { Internal } from "../../core/jobs.ts"
import * as AttachFlow from "../attach_flow.ts"
import { Invocation } from "../invocation.ts"
import { givenOrNewest } from "../pick.ts"

/** `jobs attach ID` */
export const command = Command.make(
  "attach",
  {
    id: Args.text({ name: "ID" }).pipe(
      Args.withDescription("Job id, short id, name or unique prefix (default: the newest job of this project)"),
      Args.optional
    )
  },
  Effect.fn("jobs.attach.command")(function* ({ id }) {
    const invocation = yield* Invocation
    const jobs = yield* Internal
    const job = yield* jobs.get(yield* givenOrNewest(id, "attach"))
    yield* AttachFlow.attach(jobs, invocation.home, job)
  })
).pipe(
  Command.withDescription(
    "Attach this terminal to a job that runs in tmux (jobs run --tmux), or to its done screen. Ctrl+B D detaches; " +
      "the job keeps running. Works from inside your own tmux too."
  )
)
