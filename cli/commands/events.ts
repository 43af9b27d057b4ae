// jobs events: a job's event log as JSON Lines, or (--all) the feed of every job's events, for scripts.
import * as Path from "node:path"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { InvalidInput } from "../../core/errors.ts"
import * as Feed from "../../core/feed.ts"
import { Internal as Jobs } from "../../core/jobs.ts"
import * as Project from "../../core/project.ts"
import { Codec } from "../../events/mod.ts"
import { statusFlag } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const list = (text: Option.Option<string>): Array<string> | undefined =>
  Option.match(text, {
    onNone: () => undefined,
    onSome: (t) =>
      t
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
  })

/** `jobs events ID [-f]`, `jobs events --all [-f] [--since CURSOR|TIME] [--type T] [--status S] [--project P] [--job ID]` */
export const command = Command.make(
  "events",
  {
    id: Args.text({ name: "ID" }).pipe(Args.withDescription("Job id, short id, name or unique prefix"), Args.optional),
    all: Options.boolean("all").pipe(
      Options.withAlias("a"),
      Options.withDescription(
        "Every job's events, new jobs included, one JSON object a line: {cursor, job, event} (see the README)"
      )
    ),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep printing new events (one job: until it ends; --all: until interrupted)")
    ),
    since: Options.text("since").pipe(
      Options.withDescription(
        "With --all: start after a saved cursor, or at a time (ISO-8601, or a duration ago such as 10m); " +
          "default: now with --follow, else the beginning"
      ),
      Options.optional
    ),
    type: Options.text("type").pipe(
      Options.withDescription("With --all: only these event types, comma-separated (Exited,Interrupted)"),
      Options.optional
    ),
    status: Options.text("status").pipe(
      Options.withDescription("With --all: only events after which the job has one of these statuses, comma-separated"),
      Options.optional
    ),
    project: Options.text("project").pipe(
      Options.withDescription("With --all: only jobs of the project of this directory"),
      Options.optional
    ),
    job: Options.text("job").pipe(
      Options.withDescription("With --all: only these jobs (references, comma-separated)"),
      Options.optional
    )
  },
  Effect.fn("jobs.events")(function* (opts) {
    const jobs = yield* Jobs
    const invocation = yield* Invocation
    const feedOnly = [opts.since, opts.type, opts.status, opts.project, opts.job].some(Option.isSome)
    if (!opts.all) {
      if (Option.isNone(opts.id)) {
        return yield* new InvalidInput({ message: "Cannot print events: name a job (jobs events ID) or use --all" })
      }
      if (feedOnly) {
        return yield* new InvalidInput({
          message: "Cannot filter one job's events: --since, --type, --status, --project and --job go with --all"
        })
      }
      return yield* Stream.runForEach(jobs.events(opts.id.value, { follow: opts.follow }), (event) =>
        Render.out(Codec.encodeLine(event))
      )
    }
    if (Option.isSome(opts.id)) {
      return yield* new InvalidInput({ message: "Cannot take a job and --all together: use --job ID with --all" })
    }
    const types = list(opts.type)
    const known = new Set(Feed.EVENT_TYPES)
    const unknown = types?.find((t) => !known.has(t))
    if (unknown !== undefined) {
      return yield* new InvalidInput({
        message: `Cannot filter by event type "${unknown}": use one of ${[...known].join(", ")}`
      })
    }
    const statuses = yield* statusFlag(opts.status)
    const references = list(opts.job)
    const ids = references === undefined ? undefined : yield* Effect.forEach(references, jobs.resolve)
    const since = Option.isSome(opts.since) ? yield* Feed.parseSince(opts.since.value) : undefined
    const project = Option.map(opts.project, (p) => Project.detect(Path.resolve(invocation.cwd, p)))
    yield* Stream.runForEach(
      jobs.feed({
        follow: opts.follow,
        since,
        types,
        statuses,
        project: Option.getOrUndefined(project),
        jobs: ids
      }),
      (item) => Render.out(Feed.encodeItem(item))
    )
  })
).pipe(
  Command.withDescription(
    "Print a job's events as JSON Lines (the same lines as its events.jsonl), or with --all every job's, resumable"
  )
)
