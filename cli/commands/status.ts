// jobs status: one job in full, or a summary of the home.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tmux from "../../adapters/tmux.ts"
import * as Home from "../../core/home.ts"
import * as JobState from "../../core/job_state.ts"
import { Jobs } from "../../core/jobs.ts"
import * as Workers from "../../core/workers.ts"
import * as EventLog from "../../events/event_log.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

/**
 * What the job object does not carry but a person asks next, read from the job's own log: where a remote job's
 * files are on its worker, what a GPU job holds and costs, what a queued job waits for, how its hook ended.
 */
const detailsOf = (layout: Home.Layout, job: JobState.JobObject): Array<[string, string]> => {
  const rows: Array<[string, string]> = []
  const events = EventLog.replaySync(job.eventsPath).events
  if (job.worker !== null && job.executor !== "gpu") {
    const worker = Workers.find(layout, job.worker)
    const home = worker?.remoteHome ?? "~/.jobs"
    rows.push([
      "worker",
      `${job.worker}${worker === undefined ? " (no longer registered)" : ` (${worker.connection})`}`
    ])
    rows.push(["work dir", `${home}/workdirs/${job.id}`])
  }
  if (job.group !== null) {
    rows.push(["group", `${job.group}${job.position === null ? "" : ` (#${job.position} in its queue)`}`])
  }
  if (job.status === "pending" && job.after.length > 0) {
    rows.push(["waits for", job.after.map((id) => id.slice(-8).toLowerCase()).join(", ")])
  }
  for (const e of events) {
    if (e.type !== "Provisioned") continue
    const ended = events.find((t) => t.type === "Terminated" && t.instanceId === e.instanceId)
    rows.push([
      "instance",
      `${e.provider}:${e.instanceId} ${e.gpuCount}× ${e.gpuType} $${e.pricePerHour.toFixed(2)}/h${
        ended === undefined ? " (held)" : " (terminated)"
      }`
    ])
  }
  for (const d of job.downloads) rows.push(["download", d.error === null ? d.path : `${d.path}: ${d.error}`])
  const hook = events.filter((e) => e.type === "HookRan").at(-1)
  if (hook !== undefined && hook.type === "HookRan") rows.push(["hook", `${hook.hook} hook exited ${hook.exitCode}`])
  return rows
}

/** `jobs status [ID]` */
export const command = Command.make(
  "status",
  {
    id: Args.text({ name: "ID" }).pipe(Args.withDescription("Job id, short id, name or unique prefix"), Args.optional)
  },
  Effect.fn("jobs.status")(function* ({ id }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    if (Option.isSome(id)) {
      const job = yield* jobs.get(id.value)
      // a tmux job also says how to reach its session with tmux itself
      const attachCommand = job.executor === "tmux" ? Tmux.attachCommand(Home.layout(invocation.home), job.id) : null
      if (invocation.json) return yield* Render.json({ ...job, attachCommand })
      yield* Render.out(Render.jobDetail(job, detailsOf(Home.layout(invocation.home), job)))
      if (attachCommand !== null) yield* Render.line(`${"attach:".padEnd(10)} ${attachCommand}`)
      return
    }
    const summary = yield* jobs.summary
    if (invocation.json) return yield* Render.json({ ...summary, version: invocation.version })
    const counts = JobState.STATUSES.filter((s) => summary.counts[s] > 0).map((s) => `${s} ${summary.counts[s]}`)
    yield* Render.out(
      `jobs ${invocation.version}\nhome:    ${summary.home}\njobs:    ${summary.total}${counts.length > 0 ? ` (${counts.join(", ")})` : ""}\n`
    )
  })
).pipe(Command.withDescription("Show one job in full, or without ID a summary (counts by status, home, version)"))
