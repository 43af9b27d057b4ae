// jobs wait: block until jobs end, and exit with the job's own exit code.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as JobState from "../../core/job_state.ts"
import { Jobs } from "../../core/jobs.ts"
import { durationFlag, ExitWith } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import { givenOrNewest } from "../pick.ts"
import * as ProgressBar from "../progress_bar.ts"
import * as Render from "../render.ts"

/** `jobs wait ID... [--timeout D]` */
export const command = Command.make(
  "wait",
  {
    ids: Args.text({ name: "ID" }).pipe(
      Args.withDescription("Jobs to wait for (default: the newest job of this project)"),
      Args.repeated
    ),
    timeout: Options.text("timeout").pipe(
      Options.withDescription("Give up after this long (exit 124)"),
      Options.optional
    )
  },
  Effect.fn("jobs.wait")(function* ({ ids: given, timeout }) {
    const ids = given.length > 0 ? given : [yield* givenOrNewest(Option.none(), "wait")]
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const timeoutSecs = yield* durationFlag("timeout", timeout)
    const deadline = timeoutSecs === undefined ? undefined : Date.now() + timeoutSecs * 1000
    const results: Array<JobState.JobObject> = []
    let code = 0
    for (const id of ids) {
      const left = deadline === undefined ? undefined : Math.max(0, (deadline - Date.now()) / 1000)
      const waited = yield* ProgressBar.showing(jobs, id, () => jobs.wait(id, { timeoutSecs: left })).pipe(
        Effect.catchAll((e) => Effect.zipRight(Render.note(e.message), Effect.fail(new ExitWith({ code: 125 }))))
      )
      if (Option.isNone(waited)) {
        const job = yield* jobs.get(id).pipe(Effect.orDie)
        results.push(job)
        if (!invocation.json) yield* Render.note(`jobs: timed out waiting for ${job.shortId} (${job.status})`)
        if (code === 0) code = 124
        break
      }
      const job = waited.value
      results.push(job)
      if (!invocation.json) yield* Render.line(`${job.shortId} ${Render.statusText(job)}`)
      for (const d of job.downloads) {
        if (d.error !== null) yield* Render.note(`Cannot download "${d.path}" from job "${job.shortId}": ${d.error}`)
      }
      const jobCode = JobState.waitExitCode(job)
      if (code === 0 && jobCode !== 0) code = jobCode
    }
    if (invocation.json) yield* Render.json(results)
    if (code !== 0) return yield* new ExitWith({ code })
  })
).pipe(
  Command.withDescription(
    "Wait until jobs end; exit with the job's code (128+N if killed by signal N, 124 if the wait timed out, " +
      "125 if there is no code, 1 if the job completed but a --download failed). A GPU job is waited for until its " +
      "downloads are copied and its instance released. With several jobs: the first non-zero, in argument order."
  )
)
