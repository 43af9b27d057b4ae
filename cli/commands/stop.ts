// jobs stop: stop jobs (signal, grace, then KILL to the whole process group), all signalled before any is waited for.
// Idempotent.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput } from "../../core/errors.ts"
import * as JobState from "../../core/job_state.ts"
import { Internal } from "../../core/jobs.ts"
import { durationFlag } from "../_shared.ts"
import * as Confirm from "../confirm.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs stop ID... | --group G | --all [--yes] [--signal SIG] [--grace 10s]` */
export const command = Command.make(
  "stop",
  {
    ids: Args.text({ name: "ID" }).pipe(Args.withDescription("Jobs to stop"), Args.repeated),
    group: Options.text("group").pipe(
      Options.withDescription("Every unfinished job of this queue group (and what is left of its interrupted ones)"),
      Options.optional
    ),
    all: Options.boolean("all").pipe(
      Options.withAlias("a"),
      Options.withDescription("Every unfinished job of this home, of every project (asked on a terminal, else --yes)")
    ),
    yes: Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Stop them all without asking")),
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
  Effect.fn("jobs.stop")(function* ({ ids, group, all, yes, signal, grace }) {
    const invocation = yield* Invocation
    const jobs = yield* Internal
    const graceSecs = yield* durationFlag("grace", grace)
    if (ids.length === 0 && Option.isNone(group) && !all) {
      return yield* new InvalidInput({ message: "Cannot stop jobs: name them (ID...), or use --group G or --all" })
    }
    const references = [...ids]
    if (Option.isSome(group)) references.push(...(yield* jobs.unfinished({ group: group.value })))
    if (all) {
      const every = yield* jobs.unfinished()
      if (every.length > 0 && !yes) {
        if (!Confirm.canAsk()) {
          return yield* new InvalidInput({
            message: `Cannot stop every job: ${every.length} unfinished; pass --yes to stop them without a terminal to ask on`
          })
        }
        if (!(yield* Confirm.ask(`Stop ${every.length} unfinished job${every.length === 1 ? "" : "s"}?`))) {
          return yield* Render.note("stopped nothing")
        }
      }
      references.push(...every)
    }
    const results = yield* Render.spinning(
      `stopping ${references.length} job${references.length === 1 ? "" : "s"} (signalled; waiting for them to end)`,
      jobs.stopMany(references, {
        ...(Option.isSome(signal) ? { signal: signal.value } : {}),
        ...(graceSecs === undefined ? {} : { graceSecs })
      })
    )
    if (invocation.json) return yield* Render.json(results.map(({ job, alreadyEnded }) => ({ ...job, alreadyEnded })))
    for (const { job, alreadyEnded } of results) {
      yield* alreadyEnded
        ? Render.line(`${job.shortId} already ended (${Render.statusText(job)})`)
        : JobState.vanished(job)
          ? // its supervisor was gone before, not its command: that is what was stopped
            Render.line(`${job.shortId} ${Render.statusText(job)}: what was left of its command is stopped`)
          : Render.line(`${job.shortId} ${Render.statusText(job)}`)
    }
    if (results.length === 0) yield* Render.note("no unfinished job to stop")
  })
).pipe(
  Command.withDescription(
    "Stop jobs: send the signal to each job's whole process group, KILL what is left after the grace, and wait " +
      "until they have ended (all are signalled first, then waited for together). Stopping an ended job changes " +
      "nothing; of an interrupted job, what is left of its command is stopped. --group G stops every unfinished job " +
      "of a group, --all every unfinished job (asked on a terminal, else --yes), each with the interrupted jobs " +
      "whose command still runs."
  )
)
