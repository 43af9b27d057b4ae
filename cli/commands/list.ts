// jobs list (and its alias ls): a table of jobs, newest first.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Jobs } from "../../core/jobs.ts"
import { projectScope, statusFlag } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** How many jobs a plain `jobs list` shows: the newest ones, so it stays instant at 100,000 jobs. */
const DEFAULT_LIMIT = 50

const options = {
  all: Options.boolean("all").pipe(Options.withAlias("a"), Options.withDescription("Jobs of every project")),
  status: Options.text("status").pipe(
    Options.withDescription("Only these statuses, comma-separated (pending, running, completed, failed, ...)"),
    Options.optional
  ),
  color: Options.choice("color", ["auto", "always", "never"]).pipe(
    Options.withDescription("Colour statuses: auto (on a terminal, unless NO_COLOR is set), always or never"),
    Options.withDefault("auto" as const)
  ),
  limit: Options.integer("limit").pipe(
    Options.withDescription(`At most N jobs, newest first (default ${DEFAULT_LIMIT}; 0: all)`),
    Options.optional
  )
}

const handler = Effect.fn("jobs.list")(function* (opts: {
  readonly all: boolean
  readonly status: Option.Option<string>
  readonly limit: Option.Option<number>
  readonly color: "auto" | "always" | "never"
}) {
  const invocation = yield* Invocation
  const jobs = yield* Jobs
  const statuses = yield* statusFlag(opts.status)
  const limit = Option.getOrElse(opts.limit, () => DEFAULT_LIMIT)
  const { jobs: list, more } = yield* jobs.list({ project: projectScope(opts.all, invocation.cwd), statuses, limit })
  // the hint is for a plain `jobs list`: who asked for a limit knows it
  if (more && Option.isNone(opts.limit))
    yield* Render.note(`jobs: showing the newest ${limit}; --limit N for more, --limit 0 for all`)
  if (invocation.json) return yield* Render.json(list)
  if (list.length === 0) {
    return yield* Render.note(opts.all ? "no jobs" : "no jobs in this project (jobs list --all shows every project)")
  }
  yield* Render.out(Render.jobsTable(list, Render.tableStyle(opts.color)))
})

const description = "List jobs of the current project (--all: every project), newest first"

/** `jobs list` */
export const command = Command.make("list", options, handler).pipe(Command.withDescription(description))

/** `jobs ls`, the same command. */
export const alias = Command.make("ls", options, handler).pipe(Command.withDescription(`${description} (= list)`))
