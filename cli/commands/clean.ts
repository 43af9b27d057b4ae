// jobs clean: remove ended jobs in bulk.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput, JobStateConflict } from "../../core/errors.ts"
import { Jobs } from "../../core/jobs.ts"
import { durationFlag, projectScope, statusFlag } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs clean [--older-than 7d] [--status S] [--all]` */
export const command = Command.make(
  "clean",
  {
    olderThan: Options.text("older-than").pipe(
      Options.withDescription("Only jobs that ended longer ago than this (7d, 12h; default: keep: in config.yaml)"),
      Options.optional
    ),
    status: Options.text("status").pipe(
      Options.withDescription("Only these ended statuses, comma-separated"),
      Options.optional
    ),
    all: Options.boolean("all").pipe(Options.withAlias("a"), Options.withDescription("Jobs of every project")),
    group: Options.text("group").pipe(Options.withDescription("Only jobs of this queue group"), Options.optional),
    yes: Options.boolean("yes").pipe(
      Options.withAlias("y"),
      Options.withDescription("Remote jobs too, deleting their work dirs on the workers")
    ),
    keepRemote: Options.boolean("keep-remote").pipe(
      Options.withDescription("Remote jobs too, here only: their work dirs on the workers stay")
    )
  },
  Effect.fn("jobs.clean")(function* ({ olderThan, status, all, group, yes, keepRemote }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    if (yes && keepRemote) {
      return yield* new InvalidInput({ message: "Cannot clean jobs: --yes and --keep-remote contradict each other" })
    }
    let skipped = 0
    const unreachable: Array<string> = []
    const olderThanSecs = yield* durationFlag("older-than", olderThan)
    const statuses = yield* statusFlag(status)
    const removed = yield* Render.spinning(
      "removing ended jobs",
      jobs.clean({
        olderThanSecs,
        statuses,
        project: projectScope(all, invocation.cwd),
        group: Option.getOrUndefined(group),
        remote: yes ? "delete" : keepRemote ? "keep" : "skip",
        onSkipped: () => skipped++,
        onUnreachable: (_, why) => unreachable.push(why)
      })
    )
    if (skipped > 0) {
      yield* Render.note(
        `kept ${skipped} remote job${skipped === 1 ? "" : "s"} (--yes also deletes their work dirs on the workers, --keep-remote leaves those)`
      )
    }
    yield* invocation.json
      ? Render.json(removed)
      : Render.line(`removed ${removed.length} job${removed.length === 1 ? "" : "s"}`)
    // what could not be removed is named, one line each, and the exit code says that not everything was done
    for (const why of unreachable) yield* Render.note(why)
    if (unreachable.length > 0) {
      return yield* new JobStateConflict({
        message: `Cannot clean ${unreachable.length} remote job${unreachable.length === 1 ? "" : "s"}: their worker could not be reached (they stay whole; run clean again later)`
      })
    }
  })
).pipe(
  Command.withDescription(
    "Remove ended jobs of the current project (--all: every project); running jobs stay, and so do remote jobs " +
      "unless --yes (work dirs on the workers deleted too) or --keep-remote"
  )
)
