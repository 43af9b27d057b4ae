// jobs status: one job in full, or a summary of the home.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tmux from "../../adapters/tmux.ts"
import * as Home from "../../core/home.ts"
import * as JobState from "../../core/job_state.ts"
import { Jobs } from "../../core/jobs.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs status [ID]` */
export const command = Command.make(
  "status",
  {
    id: Args.text({ name: "ID" }).pipe(Args.withDescription("Job id, short id, name or unique prefix"), Args.optional)
  },
  Effect.fn("jobs.status")(function* ({ id }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    if (Option.isSome(id)) {
      const job = yield* jobs.get(id.value)
      // a tmux job also says how to reach its session with tmux itself
      const attachCommand = job.executor === "tmux" ? Tmux.attachCommand(Home.layout(invocation.home), job.id) : null
      if (invocation.json) return yield* Render.json({ ...job, attachCommand })
      yield* Render.out(Render.jobDetail(job))
      if (attachCommand !== null) yield* Render.line(`${"attach:".padEnd(10)} ${attachCommand}`)
      return
    }
    const summary = yield* jobs.summary
    if (invocation.json) return yield* Render.json({ ...summary, version: invocation.version })
    const counts = JobState.STATUSES.filter((s) => summary.counts[s] > 0).map((s) => `${s} ${summary.counts[s]}`)
    yield* Render.out(
      `jobs ${invocation.version}\nhome:    ${summary.home}\njobs:    ${summary.total}${counts.length > 0 ? ` (${counts.join(", ")})` : ""}\n`
    )
  })
).pipe(Command.withDescription("Show one job in full, or without ID a summary (counts by status, home, version)"))
