// jobs rm: delete jobs' folders (logs and events included), and a remote job's files on its worker.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../core/errors.ts"
import { Internal, type RemoteFiles } from "../../core/jobs.ts"
import * as Confirm from "../confirm.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/** `jobs rm ID... [--force] [--yes | --keep-remote]` */
export const command = Command.make(
  "rm",
  {
    ids: Args.text({ name: "ID" }).pipe(Args.withDescription("Jobs to remove"), Args.atLeast(1)),
    force: Options.boolean("force").pipe(Options.withDescription("Kill a job that still runs, then remove it")),
    yes: Options.boolean("yes").pipe(
      Options.withAlias("y"),
      Options.withDescription("Also delete a remote job's work dir on its worker, without asking")
    ),
    keepRemote: Options.boolean("keep-remote").pipe(
      Options.withDescription("Remove a remote job here only; its work dir on the worker stays")
    )
  },
  Effect.fn("jobs.rm")(function* ({ ids, force, yes, keepRemote }) {
    const invocation = yield* Invocation
    const jobs = yield* Internal
    if (yes && keepRemote) {
      return yield* new InvalidInput({ message: "Cannot remove jobs: --yes and --keep-remote contradict each other" })
    }
    // every reference is checked, and every question answered, before anything is deleted
    const plan: Array<{ readonly id: string; readonly remote: RemoteFiles }> = []
    for (const ref of ids) {
      // a damaged folder (its log a FIFO, a link, missing...) is no job to ask about: --force removes it as it is
      const got = yield* jobs.get(ref).pipe(
        Effect.map((job) => ({ job, damaged: null })),
        Effect.catchTag("DamagedJob", (e) => (force ? Effect.succeed({ job: null, damaged: e.id }) : Effect.fail(e)))
      )
      if (got.job === null) {
        plan.push({ id: got.damaged, remote: "keep" })
        continue
      }
      const job = got.job
      let remote: RemoteFiles = keepRemote ? "keep" : "delete"
      // a job that never started has no work dir worth a question (at most a push that came before the refusal)
      if (jobs.isRemote(job.executor) && job.status !== "failed-to-start" && !yes && !keepRemote) {
        const where = `worker "${job.worker ?? "(default)"}"`
        if (!Confirm.canAsk()) {
          return yield* new InvalidInput({
            message: `Cannot remove job "${job.shortId}": it has a work dir on ${where}; pass --yes to delete it there too, or --keep-remote to remove it here only`
          })
        }
        if (!(yield* Confirm.ask(`Job ${job.shortId} has a work dir on ${where}. Delete it there too?`))) {
          yield* Render.note(`kept ${job.shortId} (jobs rm --keep-remote ${job.shortId} removes it here only)`)
          continue
        }
        remote = "delete"
      }
      plan.push({ id: job.id, remote })
    }
    const removed = []
    for (const { id, remote } of plan) {
      const job = yield* jobs.remove(id, { force, remote })
      removed.push(job)
      if (!invocation.json) yield* Render.line(`removed ${job.shortId}`)
    }
    if (invocation.json) yield* Render.json(removed)
  })
).pipe(
  Command.withDescription(
    "Remove jobs and their files; refuses a running job unless --force. A remote job's work dir on its worker is " +
      "deleted too: asked on a terminal, else --yes (or --keep-remote to leave it there)"
  )
)
