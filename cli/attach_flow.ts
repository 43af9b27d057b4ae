// Attaching a terminal to a job's tmux session, and the one-line summary printed when the user is back.
import * as Effect from "effect/Effect"
import * as Executors from "../adapters/executors.ts"
import * as Tmux from "../adapters/tmux.ts"
import { InvalidInput, JobStateConflict } from "../core/errors.ts"
import * as Home from "../core/home.ts"
import type * as JobState from "../core/job_state.ts"
import type { Internal } from "../core/jobs.ts"
import * as Render from "./render.ts"

/** Attaches to the job's session (blocking until detach or the end), then prints where the job stands. */
export const attach = Effect.fn("jobs.attach")(function* (jobs: Internal, home: string, job: JobState.JobObject) {
  // tmux would say "not a terminal" and exit 0, and an SSH session would wait for ever for keys; what cannot be
  // attached from any terminal (not a tmux job, a session gone) is said first
  const needTerminal = () =>
    isTerminal()
      ? Effect.void
      : new InvalidInput({
          message: `Cannot attach to job "${job.shortId}": this is not a terminal (jobs logs -f ${job.shortId} follows it)`
        })
  const layout = Home.layout(home)
  const remote = Executors.forHome(home).get(job.executor)
  if (remote?.attach !== undefined) {
    yield* needTerminal()
    const state = (yield* jobs.refresh(job.id)).state
    yield* Effect.mapError(
      remote.attach(state),
      (why) => new JobStateConflict({ message: `Cannot attach to job "${job.shortId}": ${why}` })
    )
    return yield* summary(jobs, job.id)
  }
  if (job.executor !== "tmux") {
    return yield* new JobStateConflict({
      message: `Cannot attach to job "${job.shortId}": it does not run in tmux (jobs logs -f ${job.shortId} follows it)`
    })
  }
  const probe = Tmux.run(layout, ["has-session", "-t", Tmux.target(job.id)])
  if (probe.missing)
    return yield* new JobStateConflict({ message: `Cannot attach to job "${job.shortId}": ${Tmux.MISSING}` })
  if (probe.code !== 0) {
    return yield* new JobStateConflict({
      message: `Cannot attach to job "${job.shortId}": its tmux session is gone (jobs logs ${job.shortId} shows its output)`
    })
  }
  yield* needTerminal()
  yield* Effect.sync(() => Tmux.attach(layout, job.id))
  yield* summary(jobs, job.id)
})

/** Whether this process has a terminal to attach: its stdin is one. */
export const isTerminal = (): boolean => process.stdin.isTTY === true

const summary = Effect.fn("jobs.attach.summary")(function* (jobs: Internal, id: string) {
  const after = yield* jobs.get(id)
  yield* after.status === "running"
    ? Render.note(`${after.shortId} running (detached; jobs attach ${after.shortId} to return)`)
    : Render.note(`${after.shortId} ${Render.statusText(after)}`)
})
