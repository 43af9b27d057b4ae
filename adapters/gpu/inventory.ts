// The instances our logs say we hold, what each provider says of them, and the sweep's verdict: an instance is
// released when no live job owns it (its job has ended, or nobody follows it any more: its keeper is gone) or
// when it was kept alive past its duration. Termination is confirmed by reading the provider again.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import type * as Home from "../../core/home.ts"
import * as Ids from "../../core/ids.ts"
import * as JobState from "../../core/job_state.ts"
import * as Provider from "../../core/provider.ts"
import { EventLog, RegularFile } from "../../events/mod.ts"
import { liveKeeper } from "./executor.ts"
import { confirmGone } from "./keeper.ts"
import * as Providers from "./providers.ts"

/** A GPU job of this home, folded. */
export interface GpuJob {
  readonly state: JobState.JobState
  readonly eventsPath: string
  readonly keeper: number | undefined
  /** The instance-side guard's means, if one was armed. */
  readonly guard: string | null
}

/** Every GPU job of the home (read from the head of each log: a job's executor is in its first line). */
export const gpuJobs = (layout: Home.Layout): Array<GpuJob> => {
  let ids: Array<string> = []
  try {
    ids = Fs.readdirSync(layout.jobs).filter(Ids.isId).sort()
  } catch {
    return []
  }
  const found: Array<GpuJob> = []
  const head = Buffer.alloc(4096)
  for (const id of ids) {
    const dir = Path.join(layout.jobs, id)
    const eventsPath = Path.join(dir, "events.jsonl")
    try {
      // a regular file only: a FIFO in a job folder must not hang the sweep
      const n = RegularFile.readIntoSync(eventsPath, head, 0)
      if (!head.subarray(0, n).toString("utf8").includes('"executor":"gpu"')) continue
    } catch {
      continue
    }
    const events = EventLog.replaySync(eventsPath).events
    const guard = [...events].reverse().find((e) => e.type === "GuardArmed")
    found.push({
      state: JobState.fold(id, events),
      eventsPath,
      keeper: liveKeeper(dir),
      guard: guard?.type === "GuardArmed" ? guard.means : null
    })
  }
  return found
}

/** One instance a job of ours holds (by its log), with what its provider says now. */
export interface Held {
  readonly job: string
  readonly shortId: string
  readonly jobStatus: JobState.Status
  readonly provider: string
  readonly instanceId: string
  readonly since: string
  readonly pricePerHour: number
  readonly uptimeSecs: number
  readonly costSoFar: number
  /** The provider's state now: running, provisioning, gone, or `unknown (why)` when it could not be asked. */
  readonly providerState: string
  /** What will end it: the keeper (while it lives) and the instance-side guard. */
  readonly guards: ReadonlyArray<string>
  readonly keepAlive: boolean
  readonly keepAliveSecs: number | null
}

/** What a provider says of an instance: its state, `gone`, or `unknown (why)`. */
const stateOf = (provider: string, id: string, settings: Providers.Settings) =>
  Provider.isProviderName(provider) && Providers.hasKey(provider, settings)
    ? Providers.make(provider, settings)
        .get(id)
        .pipe(
          Effect.map((i) => (i === undefined ? "gone" : i.state)),
          Effect.catchAll((e) => Effect.succeed(`unknown (${e._tag})`))
        )
    : Effect.succeed(`unknown (no ${Provider.isProviderName(provider) ? Provider.keyVariable(provider) : "client"})`)

/** The instances our logs hold, each asked of its provider. */
export const held = (layout: Home.Layout, settings: Providers.Settings = {}) =>
  Effect.forEach(
    gpuJobs(layout).flatMap((job) => job.state.instances.map((instance) => ({ job, instance }))),
    ({ job, instance }) =>
      Effect.gen(function* () {
        const events = EventLog.replaySync(job.eventsPath).events
        const provisioned = events.find((e) => e.type === "Provisioned" && e.instanceId === instance.id)
        const provider = provisioned?.type === "Provisioned" ? provisioned.provider : "?"
        const gpu = job.state.spec?.gpu ?? null
        const uptimeSecs = Math.max(0, (Date.now() - Date.parse(instance.since)) / 1000)
        return {
          job: job.state.id,
          shortId: Ids.shortId(job.state.id),
          jobStatus: job.state.status,
          provider,
          instanceId: instance.id,
          since: instance.since,
          pricePerHour: instance.pricePerHour,
          uptimeSecs: Math.round(uptimeSecs),
          costSoFar: Math.round(((instance.pricePerHour * uptimeSecs) / 3600) * 10_000) / 10_000,
          providerState: yield* stateOf(provider, instance.id, settings),
          guards: [
            ...(job.keeper === undefined ? [] : [`keeper (pid ${job.keeper})`]),
            ...(job.guard === null ? [] : [`instance (${job.guard})`])
          ],
          keepAlive: gpu?.keepAlive ?? false,
          keepAliveSecs: gpu?.keepAliveSecs ?? null
        } satisfies Held
      }),
    { concurrency: 8 }
  )

/** One line per instance kept alive without a limit: every gpu command says what it costs, so none is forgotten. */
export const keptNotes = (layout: Home.Layout): Array<string> =>
  gpuJobs(layout).flatMap((job) =>
    job.state.spec?.gpu?.keepAlive === true && JobState.isTerminal(job.state.status)
      ? job.state.instances.map((i) => {
          const cost = (i.pricePerHour * Math.max(0, Date.now() - Date.parse(i.since))) / 3_600_000
          return `jobs: note: instance ${i.id} of job ${Ids.shortId(job.state.id)} is kept alive ($${i.pricePerHour.toFixed(2)}/h, $${cost.toFixed(2)} so far; jobs gpu terminate ${Ids.shortId(job.state.id)} ends it)`
        })
      : []
  )

/** One instance a sweep looked at, and what it decided. */
export interface Verdict {
  readonly provider: string
  readonly instanceId: string
  readonly name: string
  readonly job: string | null
  readonly providerState: string
  /** Why it goes (undefined: it stays). */
  readonly reason: string | undefined
  readonly terminated: boolean
}

/** Why an instance of a job of ours should go, or undefined while a live job owns it. */
const verdict = (job: GpuJob | undefined, instance: { since: string } | undefined): string | undefined => {
  if (job === undefined) return undefined
  const gpu = job.state.spec?.gpu ?? null
  const ended = JobState.isTerminal(job.state.status)
  if (ended && gpu?.keepAlive === true) {
    if (gpu.keepAliveSecs === null) return undefined
    const end = Date.parse(job.state.finishedAt ?? instance?.since ?? "") || 0
    return Date.now() > end + gpu.keepAliveSecs * 1000 ? "kept alive past its duration" : undefined
  }
  if (ended) return `its job has ended (${job.state.status})`
  if (job.keeper === undefined) return "no keeper follows its job (the keeper is gone)"
  return undefined
}

/** Finds what should be gone (from our logs and from each provider's list of instances named by us), and with `apply` terminates it. */
export const sweep = (layout: Home.Layout, apply: boolean, settings: Providers.Settings = {}) =>
  Effect.gen(function* () {
    const jobs = new Map(gpuJobs(layout).map((j) => [j.state.id, j]))
    const verdicts: Array<Verdict> = []
    const seen = new Set<string>()
    const now = () => new Date().toISOString()
    const record = (job: GpuJob, event: Parameters<typeof EventLog.appendSync>[1][number]) =>
      EventLog.appendSync(job.eventsPath, [event])

    const end = (provider: Provider.Provider, instanceId: string, job: GpuJob | undefined, reason: string) =>
      Effect.gen(function* () {
        yield* provider.terminate(instanceId)
        const confirmed = yield* confirmGone(provider, instanceId)
        if (job !== undefined) {
          const held = job.state.instances.find((i) => i.id === instanceId)
          const billedSecs =
            held === undefined ? 0 : Math.max(1, Math.round((Date.now() - Date.parse(held.since)) / 1000))
          const pricePerHour = held?.pricePerHour ?? 0
          record(job, {
            type: "Terminated",
            v: 1,
            id: Ids.make(),
            job: job.state.id,
            at: now(),
            provider: provider.name,
            instanceId,
            by: "sweep",
            confirmed,
            billedSecs,
            pricePerHour,
            cost: Math.round(((pricePerHour * billedSecs) / 3600) * 10_000) / 10_000
          })
          if (!JobState.isTerminal(job.state.status))
            record(job, {
              type: "Interrupted",
              v: 1,
              id: Ids.make(),
              job: job.state.id,
              at: now(),
              reason: `its instance was terminated by jobs gpu sweep (${reason})`
            })
        }
        return confirmed
      })

    // every provider with a key: the instances named by us
    for (const name of Provider.PROVIDERS) {
      if (!Providers.hasKey(name, settings)) continue
      const provider = Providers.make(name, settings)
      const listed = yield* Effect.either(provider.list("jobs-"))
      if (listed._tag === "Left") {
        verdicts.push({
          provider: name,
          instanceId: "-",
          name: "-",
          job: null,
          providerState: `unknown (${listed.left.message})`,
          reason: undefined,
          terminated: false
        })
        continue
      }
      for (const instance of listed.right) {
        seen.add(`${name}:${instance.id}`)
        if (instance.state === "terminated") continue
        const jobId = Provider.jobOfInstance(instance.name) ?? null
        const job = jobId === null ? undefined : jobs.get(jobId)
        const reason =
          job === undefined
            ? undefined
            : verdict(
                job,
                job.state.instances.find((i) => i.id === instance.id)
              )
        const terminated = apply && reason !== undefined ? yield* end(provider, instance.id, job, reason) : false
        verdicts.push({
          provider: name,
          instanceId: instance.id,
          name: instance.name,
          job: jobId,
          providerState:
            job === undefined && jobId !== null ? `${instance.state} (job not in this home)` : instance.state,
          reason,
          terminated
        })
      }
    }
    // what the logs hold that no provider listed: gone already (recorded so), or at a provider we cannot ask
    for (const job of jobs.values()) {
      for (const instance of job.state.instances) {
        const events = EventLog.replaySync(job.eventsPath).events
        const provisioned = events.find((e) => e.type === "Provisioned" && e.instanceId === instance.id)
        const name = provisioned?.type === "Provisioned" ? provisioned.provider : "?"
        if (seen.has(`${name}:${instance.id}`)) continue
        if (!Provider.isProviderName(name) || !Providers.hasKey(name, settings)) {
          verdicts.push({
            provider: name,
            instanceId: instance.id,
            name: Provider.instanceName(job.state.id),
            job: job.state.id,
            providerState: "unknown (no key)",
            reason: undefined,
            terminated: false
          })
          continue
        }
        const provider = Providers.make(name, settings)
        const now_ = yield* Effect.either(provider.get(instance.id))
        if (now_._tag === "Right" && (now_.right === undefined || now_.right.state === "terminated")) {
          if (apply) {
            const billedSecs = Math.max(1, Math.round((Date.now() - Date.parse(instance.since)) / 1000))
            record(job, {
              type: "Terminated",
              v: 1,
              id: Ids.make(),
              job: job.state.id,
              at: now(),
              provider: name,
              instanceId: instance.id,
              by: "provider",
              confirmed: true,
              billedSecs,
              pricePerHour: instance.pricePerHour,
              cost: Math.round(((instance.pricePerHour * billedSecs) / 3600) * 10_000) / 10_000
            })
          }
          verdicts.push({
            provider: name,
            instanceId: instance.id,
            name: Provider.instanceName(job.state.id),
            job: job.state.id,
            providerState: "gone",
            // say only what was done: a dry run records nothing
            reason: apply
              ? "gone at the provider (recorded in the job's log)"
              : "gone at the provider (would be recorded in the job's log)",
            terminated: false
          })
        }
      }
    }
    return verdicts
  })
