// jobs events: a job's event log as JSON Lines, for scripts.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Jobs } from "../../core/jobs.ts"
import { Codec } from "../../events/mod.ts"
import * as Render from "../render.ts"

/** `jobs events ID [-f]` */
export const command = Command.make(
  "events",
  {
    id: Args.text({ name: "ID" }).pipe(Args.withDescription("Job id, short id, name or unique prefix")),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep printing new events until the job ends")
    )
  },
  Effect.fn("jobs.events")(function* ({ id, follow }) {
    const jobs = yield* Jobs
    yield* Stream.runForEach(jobs.events(id, { follow }), (event) => Render.out(Codec.encodeLine(event)))
  })
).pipe(Command.withDescription("Print a job's events as JSON Lines (the same lines as its events.jsonl)"))
