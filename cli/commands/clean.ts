// jobs clean: remove ended jobs in bulk.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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
    group: Options.text("group").pipe(Options.withDescription("Only jobs of this queue group"), Options.optional)
  },
  Effect.fn("jobs.clean")(function* ({ olderThan, status, all, group }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const olderThanSecs = yield* durationFlag("older-than", olderThan)
    const statuses = yield* statusFlag(status)
    const removed = yield* jobs.clean({
      olderThanSecs,
      statuses,
      project: projectScope(all, invocation.cwd),
      group: Option.getOrUndefined(group)
    })
    yield* invocation.json
      ? Render.json(removed)
      : Render.line(`removed ${removed.length} job${removed.length === 1 ? "" : "s"}`)
  })
).pipe(Command.withDescription("Remove ended jobs of the current project (--all: every project); running jobs stay"))
