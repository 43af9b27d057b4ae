// jobs rm: delete jobs' folders (logs and events included).
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { Jobs } from "../../core/jobs.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs rm ID... [--force]` */
export const command = Command.make(
  "rm",
  {
    ids: Args.text({ name: "ID" }).pipe(Args.withDescription("Jobs to remove"), Args.atLeast(1)),
    force: Options.boolean("force").pipe(Options.withDescription("Kill a job that still runs, then remove it"))
  },
  Effect.fn("jobs.rm")(function* ({ ids, force }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const removed = []
    for (const id of ids) {
      const job = yield* jobs.remove(id, { force })
      removed.push(job)
      if (!invocation.json) yield* Render.line(`removed ${job.shortId}`)
    }
    if (invocation.json) yield* Render.json(removed)
  })
).pipe(Command.withDescription("Remove jobs and their files; refuses a running job unless --force"))
