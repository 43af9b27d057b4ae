// jobs gpu terminate ID: end the instance(s) of a GPU job now (ID: a job reference, or provider:instance), confirmed
// by reading the provider again and recorded in the job's log with its cost.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Inventory from "../../../adapters/gpu/inventory.ts"
import { confirmGone } from "../../../adapters/gpu/keeper.ts"
import * as Providers from "../../../adapters/gpu/providers.ts"
import { InvalidInput, JobStateConflict } from "../../../core/errors.ts"
import * as Home from "../../../core/home.ts"
import * as Ids from "../../../core/ids.ts"
import { Internal } from "../../../core/jobs.ts"
import * as Provider from "../../../core/provider.ts"
import { EventLog } from "../../../events/mod.ts"
import { Invocation } from "../../invocation.ts"
import * as Render from "../../render.ts"
import { keptNotes } from "./ls.ts"

/** `jobs gpu terminate ID` */
export const command = Command.make(
  "terminate",
  {
    id: Args.text({ name: "ID" }).pipe(
      Args.withDescription("A GPU job (id, short id, name) or an instance as provider:id (runpod:abc123)")
    )
  },
  Effect.fn("jobs.gpu.terminate")(function* ({ id }) {
    const invocation = yield* Invocation
    const layout = Home.layout(invocation.home)
    const direct = /^(runpod|lambda|vast):(.+)$/.exec(id)
    const targets: Array<{ provider: Provider.ProviderName; instanceId: string; job?: Inventory.GpuJob }> = []
    if (direct !== null) {
      const job = Inventory.gpuJobs(layout).find((j) => j.state.instances.some((i) => i.id === direct[2]))
      targets.push({
        provider: direct[1] as Provider.ProviderName,
        instanceId: direct[2]!,
        ...(job === undefined ? {} : { job })
      })
    } else {
      const jobs = yield* Internal
      const jobId = yield* jobs.resolve(id)
      const job = Inventory.gpuJobs(layout).find((j) => j.state.id === jobId)
      if (job === undefined)
        return yield* new InvalidInput({ message: `Cannot terminate the instance of job "${id}": it is not a GPU job` })
      for (const instance of job.state.instances) {
        const events = EventLog.replaySync(job.eventsPath).events
        const p = events.find((e) => e.type === "Provisioned" && e.instanceId === instance.id)
        if (p?.type === "Provisioned" && Provider.isProviderName(p.provider))
          targets.push({ provider: p.provider, instanceId: instance.id, job })
      }
      if (targets.length === 0)
        return yield* new JobStateConflict({
          message: `Cannot terminate the instance of job "${Ids.shortId(jobId)}": it holds none (any more)`
        })
    }
    const results = []
    for (const t of targets) {
      const provider = Providers.make(t.provider)
      // an instance the provider does not know was never there (or is long gone): nothing was terminated
      if (t.job === undefined && (yield* provider.get(t.instanceId)) === undefined) {
        return yield* new JobStateConflict({
          message: `Cannot terminate ${t.provider}:${t.instanceId}: ${t.provider} has no such instance`
        })
      }
      yield* provider.terminate(t.instanceId)
      const confirmed = yield* confirmGone(provider, t.instanceId)
      const held = t.job?.state.instances.find((i) => i.id === t.instanceId)
      if (t.job !== undefined && held !== undefined) {
        const billedSecs = Math.max(1, Math.round((Date.now() - Date.parse(held.since)) / 1000))
        EventLog.appendSync(t.job.eventsPath, [
          {
            type: "Terminated",
            v: 1,
            id: Ids.make(),
            job: t.job.state.id,
            at: new Date().toISOString(),
            provider: t.provider,
            instanceId: t.instanceId,
            by: "cli",
            confirmed,
            billedSecs,
            pricePerHour: held.pricePerHour,
            cost: Math.round(((held.pricePerHour * billedSecs) / 3600) * 10_000) / 10_000
          }
        ])
      }
      results.push({ provider: t.provider, instanceId: t.instanceId, confirmed })
      if (!invocation.json)
        yield* Render.line(
          `${t.provider}:${t.instanceId} ${confirmed ? "terminated" : "terminate sent (not confirmed yet)"}`
        )
    }
    if (invocation.json) return yield* Render.json(results)
    yield* keptNotes(invocation.home)
  })
).pipe(Command.withDescription("Terminate a GPU job's instance now (or provider:instance), confirmed by the provider"))
