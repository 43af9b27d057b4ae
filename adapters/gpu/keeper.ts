// The keeper of a GPU job (`jobs __gpu-keeper ID`, detached): gets an instance from the cheapest offer that can be
// had, waits for the provider's endpoint and then for SSH (separate deadlines), arms the instance-side guard, runs
// the bootstrap steps and the job with the ssh executor, follows it to its end, downloads the listed paths, and
// releases the instance. The instance is one scoped resource: its release (terminate, confirmed by reading the
// provider again, and the cost recorded) runs on every way out — success, failure, a stop, a signal, an
// exception — unless the job asked to keep it.

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Client } from "ssh2"
import * as EnvFile from "../../core/env_file.ts"
import * as Home from "../../core/home.ts"
import * as Ids from "../../core/ids.ts"
import * as JobState from "../../core/job_state.ts"
import * as Provider from "../../core/provider.ts"
import * as Shell from "../../core/shell.ts"
import * as Workers from "../../core/workers.ts"
import { type Event, EventLog, RegularFile } from "../../events/mod.ts"
import * as SafeDownload from "../safe_download.ts"
import * as Ssh from "../ssh.ts"
import * as SshExecutor from "../ssh_executor.ts"
import type * as Mux from "../ssh_mux.ts"
import guardScript from "./guard.sh?raw"
import * as Providers from "./providers.ts"

const q = Shell.quote

/** A stage of the way to the command that failed. */
export class SetupError extends Data.TaggedError("SetupError")<{
  readonly stage: "provision" | "ssh" | "sync" | "bootstrap"
  readonly reason: string
  /** Nothing could even be asked for (no API key, no SSH key): the job failed to start. */
  readonly refused?: boolean
}> {}

/** How a failed bootstrap step's error starts, on its way through the ssh executor. */
const BOOTSTRAP = "bootstrap: "

/** A stop asked for before the command started. */
class StoppedBeforeStart extends Data.TaggedError("StoppedBeforeStart")<{}> {}

/** Timings the tests shorten (environment variables, in seconds or milliseconds as named). */
const tuning = () => ({
  pollMs: Number(process.env.JOBS_GPU_POLL_MS ?? 1000) || 1000,
  guardGraceSecs: Number(process.env.JOBS_GPU_GUARD_GRACE ?? 120),
  holdSecs: Number(process.env.JOBS_GPU_GUARD_HOLD ?? 60) || 60
})

/** The default identity's public key line: what each provider authorizes on the instance. */
export const publicKey = (): { file: string; line: string } | undefined => {
  for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
    const file = Path.join(Os.homedir(), ".ssh", name)
    try {
      if (!Fs.existsSync(file)) continue
      return { file, line: Fs.readFileSync(`${file}.pub`, "utf8").trim() }
    } catch {
      // no .pub beside it: try the next
    }
  }
  return undefined
}

const sshRun = (client: Client | Mux.Connection, command: string, stdin?: string) =>
  new Promise<{ code: number; out: string; err: string }>((resolve, reject) => {
    client.exec(command, (e, stream) => {
      if (e !== undefined && e !== null) return reject(e)
      let out = ""
      let err = ""
      stream.on("data", (d: Buffer) => (out += d.toString("utf8")))
      stream.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")))
      stream.on("close", (code: number | null) => resolve({ code: code ?? 255, out, err }))
      if (stdin !== undefined) stream.end(stdin)
      else stream.end()
    })
  })

/** Runs a command on a fresh connection to the instance. */
const onInstance = (worker: Workers.Worker, command: string) =>
  Effect.tryPromise(async () => {
    const client = await Ssh.connect(worker.connection, { timeoutMs: 10_000, ...Workers.hostKeyOptions(worker) })
    try {
      return await sshRun(client, command)
    } finally {
      client.end()
    }
  })

/** Keeps a job: everything from the first provider call to the release of its instance. */
export const keep = (layout: Home.Layout, id: string, settings: Providers.Settings = {}) => {
  const paths = Home.jobPaths(layout, id)
  const now = () => new Date().toISOString()
  const append = (event: Event.Event) => Effect.sync(() => EventLog.appendSync(paths.eventsPath, [event]))
  const common = () => ({ v: 1, id: Ids.make(), job: id, at: now() })
  const read = () => JobState.fold(id, EventLog.replaySync(paths.eventsPath).events)
  const note = (text: string) => Effect.sync(() => process.stderr.write(`${now()} ${text}\n`))
  const { pollMs, guardGraceSecs, holdSecs } = tuning()
  /** Set once the job runs on the instance and asked to keep it: the release then leaves it be. */
  let kept = false

  const state0 = read()
  const spec = state0.spec
  const gpu = spec?.gpu ?? null

  /** Terminates an instance, confirms it by reading the provider again, and records what it cost. */
  const release = (provider: Provider.Provider, instanceId: string, pricePerHour: number, since: number) =>
    Effect.gen(function* () {
      if (kept) {
        yield* note(`keeping instance ${provider.name}:${instanceId} (--keep-alive)`)
        return
      }
      yield* note(`terminating ${provider.name}:${instanceId}`)
      const ended = yield* provider.terminate(instanceId).pipe(
        Effect.zipRight(confirmGone(provider, instanceId)),
        Effect.catchAll((e) => Effect.as(note(`terminate failed: ${e.message}`), false))
      )
      const billedSecs = Math.max(1, Math.round((Date.now() - since) / 1000))
      yield* append({
        type: "Terminated",
        ...common(),
        provider: provider.name,
        instanceId,
        by: "keeper",
        confirmed: ended,
        billedSecs,
        pricePerHour,
        cost: Math.round(((pricePerHour * billedSecs) / 3600) * 10_000) / 10_000
      })
    })

  /** One offer: create (its id logged at once), wait for the endpoint, then for SSH. */
  const attempt = (offer: Provider.Offer, key: { file: string; line: string }, spec: Event.GpuSpec) =>
    Effect.gen(function* () {
      const provider = Providers.make(offer.provider, settings)
      const since = Date.now()
      const created = yield* Effect.acquireRelease(
        provider
          .create({
            offer,
            name: Provider.instanceName(id),
            publicKey: key.line,
            query: queryOf(spec),
            image: spec.image
          })
          .pipe(
            Effect.tap((c) =>
              append({
                type: "Provisioned",
                ...common(),
                provider: offer.provider,
                instanceId: c.id,
                name: Provider.instanceName(id),
                offer: offer.id,
                gpuType: offer.gpuType,
                gpuCount: offer.gpuCount,
                pricePerHour: offer.priceTotal
              })
            )
          ),
        (c) => release(provider, c.id, offer.priceTotal, since)
      )
      const instance = yield* waitRunning(provider, created.id, spec.providerTimeoutSecs)
      const worker = yield* reachable(offer.provider, created.id, instance, spec.sshTimeoutSecs)
      return { provider, created, offer, worker }
    })

  const waitRunning = (provider: Provider.Provider, instanceId: string, timeoutSecs: number) =>
    Effect.gen(function* () {
      const deadline = Date.now() + timeoutSecs * 1000
      for (;;) {
        const instance = yield* provider.get(instanceId).pipe(
          Effect.catchTag("RateLimited", () => Effect.succeed(null)),
          Effect.mapError((e) => new SetupError({ stage: "provision", reason: e.message }))
        )
        if (instance === undefined)
          return yield* new SetupError({ stage: "provision", reason: "the instance vanished at the provider" })
        if (instance !== null) {
          if (instance.state === "running" && instance.ssh !== null) return instance
          if (instance.state !== "provisioning" && instance.state !== "running")
            return yield* new SetupError({ stage: "provision", reason: `the instance is ${instance.providerState}` })
        }
        if (Date.now() > deadline)
          return yield* new SetupError({
            stage: "provision",
            reason: `the instance was not running with an SSH endpoint after ${timeoutSecs}s`
          })
        yield* Effect.sleep(pollMs)
      }
    })

  /** Logs where the running instance answers SSH, and waits until it does; the instance as a worker. */
  const reachable = (
    provider: Provider.ProviderName,
    instanceId: string,
    instance: Provider.Instance,
    sshTimeoutSecs: number
  ) =>
    Effect.gen(function* () {
      const endpoint = instance.ssh!
      yield* append({
        type: "InstanceReady",
        ...common(),
        provider,
        instanceId,
        host: endpoint.host,
        port: endpoint.port,
        user: endpoint.user
      })
      const worker = Workers.ofGpuJob(layout, id)!
      yield* waitSsh(worker, sshTimeoutSecs)
      return worker
    })

  const waitSsh = (worker: Workers.Worker, timeoutSecs: number) =>
    Effect.gen(function* () {
      const deadline = Date.now() + timeoutSecs * 1000
      let last = ""
      for (;;) {
        const r = yield* Effect.either(onInstance(worker, "true"))
        if (r._tag === "Right" && r.right.code === 0) return
        const refused = r._tag === "Left" ? (r.left as any)?.error : undefined
        // a refused host key (changed, revoked) is no instance still booting: waiting longer would not help
        if (refused instanceof Ssh.SshError && refused.hostKey)
          return yield* new SetupError({ stage: "ssh", reason: refused.message })
        last = r._tag === "Left" ? String((r.left as any)?.error?.message ?? r.left) : `exit ${r.right.code}`
        if (Date.now() > deadline)
          return yield* new SetupError({ stage: "ssh", reason: `no SSH within ${timeoutSecs}s (${last})` })
        yield* Effect.sleep(Math.min(pollMs, 1000))
      }
    })

  /** An instance the job was given (RemoteJob's nodeId): held like one of ours, released unless kept. */
  const attachExisting = (given: { provider: string; id: string }, spec: Event.GpuSpec) =>
    Effect.gen(function* () {
      if (!Provider.isProviderName(given.provider))
        return yield* new SetupError({ stage: "provision", reason: `unknown provider "${given.provider}"` })
      const provider = Providers.make(given.provider, settings)
      const since = Date.now()
      const instance = yield* waitRunning(provider, given.id, spec.providerTimeoutSecs)
      const price = instance.pricePerHour ?? 0
      yield* Effect.acquireRelease(
        append({
          type: "Provisioned",
          ...common(),
          provider: given.provider,
          instanceId: given.id,
          name: instance.name,
          offer: "existing",
          gpuType: "?",
          gpuCount: spec.query.count,
          pricePerHour: price
        }),
        () => release(provider, given.id, price, since)
      )
      const worker = yield* reachable(given.provider, given.id, instance, spec.sshTimeoutSecs)
      const offer: Provider.Offer = {
        provider: given.provider,
        id: "existing",
        gpuType: "?",
        gpuCount: spec.query.count,
        vramGb: 0,
        cuda: null,
        cloudType: "secure",
        pricePerGpu: price,
        priceTotal: price,
        region: null
      }
      return { provider, created: { id: given.id, instanceKey: null }, offer, worker }
    })

  /** The first offer that gives a reachable instance; each failed attempt's instance is released at once. */
  const acquire = (scope: Scope.Scope, spec: Event.GpuSpec) =>
    Effect.gen(function* () {
      const key = publicKey()
      if (key === undefined)
        return yield* new SetupError({
          stage: "provision",
          reason: "no SSH key in ~/.ssh to authorize on the instance (ssh-keygen -t ed25519 makes one)",
          refused: true
        })
      if (noKey(spec, settings)) {
        return yield* new SetupError({
          stage: "provision",
          reason: `no API key is set (${spec.query.providers.map((p) => Provider.keyVariable(p as Provider.ProviderName)).join(", ")})`,
          refused: true
        })
      }
      const found = yield* Providers.offers(queryOf(spec), settings)
      for (const e of found.errors) yield* note(`offers: ${e.message}`)
      const fatal = found.errors.find(Provider.isFatal)
      if (found.offers.length === 0) {
        return yield* new SetupError({
          stage: "provision",
          reason:
            fatal?.message ??
            (found.skipped.length === spec.query.providers.length
              ? `no API key is set (${spec.query.providers.map((p) => Provider.keyVariable(p as Provider.ProviderName)).join(", ")})`
              : found.errors.length > 0
                ? found.errors.map((e) => e.message).join("; ")
                : "no offer matches the query")
        })
      }
      let lastReason = ""
      for (const offer of found.offers.slice(0, 5)) {
        const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const r = yield* Effect.either(attempt(offer, key, spec).pipe(Scope.extend(child)))
        if (r._tag === "Right") return r.right
        yield* Scope.close(child, Exit.void)
        const error = r.left
        lastReason = error._tag === "SetupError" ? error.reason : error.message
        yield* note(`offer ${offer.provider}:${offer.id} rejected: ${lastReason}`)
        yield* append({
          type: "OfferRejected",
          ...common(),
          provider: offer.provider,
          offer: offer.id,
          reason: lastReason
        })
        if (error._tag !== "SetupError" && Provider.isFatal(error))
          return yield* new SetupError({ stage: "provision", reason: error.message })
      }
      return yield* new SetupError({ stage: "provision", reason: `no offer could be had (last: ${lastReason})` })
    })

  /** The guard and the bootstrap, on the instance between the push and the start of the job. */
  const beforeRun =
    (held: { provider: Provider.Provider; created: Provider.Created }, spec: Event.GpuSpec, env: string) =>
    async (client: Mux.Connection, where: { jobDir: string; workdir: string }) => {
      const { jobDir, workdir } = where
      const means = held.provider.selfEnd
      const timeout = spec.keepAlive && spec.keepAliveSecs === null ? 0 : (state0.spec?.timeoutSecs ?? 0)
      const guardEnv = EnvFile.render({
        JOBS_GUARD_MEANS: means,
        JOBS_GUARD_URL: held.provider.baseUrl,
        JOBS_GUARD_ID: held.created.id,
        JOBS_GUARD_KEY: held.created.instanceKey ?? "",
        JOBS_GUARD_GRACE: String(Math.round(guardGraceSecs)),
        JOBS_GUARD_KEEP: String(
          spec.keepAlive ? (spec.keepAliveSecs === null ? -1 : Math.round(spec.keepAliveSecs)) : 0
        ),
        JOBS_GUARD_TIMEOUT: String(timeout === 0 ? 0 : Math.ceil(timeout + (state0.spec?.graceSecs ?? 10))),
        JOBS_GUARD_HOLD: String(Math.round(holdSecs))
      })
      const must = async (command: string, stdin?: string) => {
        const r = await sshRun(client, command, stdin)
        if (r.code !== 0) throw new Error(r.err.trim() || `exit ${r.code}`)
      }
      await must(`umask 077 && touch ${jobDir}/hold && cat > ${jobDir}/guard.sh`, guardScript)
      await must(`umask 077 && cat > ${jobDir}/guard.env`, guardEnv)
      await must(`cd / && (setsid sh ${jobDir}/guard.sh ${jobDir} </dev/null >/dev/null 2>&1 &)`)
      EventLog.appendSync(paths.eventsPath, [
        { type: "GuardArmed", ...common(), means, graceSecs: Math.round(guardGraceSecs) }
      ])
      let step = 0
      for (const command of spec.bootstrap) {
        step++
        const t0 = performance.now()
        const code = await new Promise<number>((resolve, reject) => {
          // the step's output goes to the job's output on the instance, ahead of the command's: the mirror brings
          // both home byte for byte
          client.exec(
            `cd ${workdir} && . ${jobDir}/env && exec sh -c ${q(command)} </dev/null >> ${jobDir}/output.log 2>&1`,
            (e, stream) => {
              if (e !== undefined && e !== null) return reject(e)
              stream.resume()
              stream.stderr.resume()
              stream.on("close", (c: number | null) => resolve(c ?? 255))
            }
          )
        })
        EventLog.appendSync(paths.eventsPath, [
          {
            type: "Bootstrapped",
            ...common(),
            step,
            command,
            exitCode: code,
            durationMs: Math.round(performance.now() - t0)
          }
        ])
        if (code !== 0) throw new Error(`${BOOTSTRAP}step ${step} "${command}" exited ${code}`)
      }
      void env
    }

  /**
   * Follows the job to its end: its output and events streamed home over one connection (the ssh executor's
   * follow), while a watcher keeps the guard's hold fresh, asks the provider whether the instance still runs, and
   * checks now and then that the supervisor there lives.
   */
  const follow = (held: { provider: Provider.Provider; created: Provider.Created; worker: Workers.Worker }) => {
    const jobDir = SshExecutor.remotePath(held.worker.remoteHome, "jobs", id)
    const streamed = SshExecutor.follow(read(), layout, paths)
    const watch = Effect.gen(function* () {
      let lastTouch = 0
      let lastCheck = Date.now()
      for (;;) {
        yield* Effect.sleep(pollMs)
        if (JobState.isTerminal(read().status)) return
        if (Date.now() - lastTouch > (holdSecs * 1000) / 3) {
          yield* Effect.ignore(onInstance(held.worker, `touch ${jobDir}/hold`))
          lastTouch = Date.now()
        }
        if (Date.now() - lastCheck < 5 * pollMs) continue
        lastCheck = Date.now()
        const instance = yield* Effect.either(held.provider.get(held.created.id))
        const gone =
          instance._tag === "Right" &&
          (instance.right === undefined ||
            (instance.right.state !== "running" && instance.right.state !== "provisioning"))
        if (gone) {
          yield* SshExecutor.mirror(read(), layout, paths)
          if (!JobState.isTerminal(read().status))
            yield* append({
              type: "Interrupted",
              ...common(),
              reason: `the instance ended under the job (${instance._tag === "Right" ? (instance.right?.providerState ?? "gone") : "?"})`
            })
          return
        }
        // a supervisor killed on the instance writes no Exited: the mirror's liveness check sees it
        const liveness = yield* SshExecutor.mirror(read(), layout, paths)
        if (liveness === "dead" && read().started !== null && !JobState.isTerminal(read().status)) {
          yield* append({ type: "Interrupted", ...common(), reason: "the supervisor on the instance is gone" })
          return
        }
      }
    })
    // whichever ends first: the end streamed home, or the watcher's verdict; then the last bytes are mirrored
    return Effect.raceFirst(streamed, watch).pipe(
      Effect.zipRight(Effect.ignore(SshExecutor.mirror(read(), layout, paths)))
    )
  }

  /** Copies the listed paths back into the job's cwd. */
  const download = (held: { worker: Workers.Worker }, spec: Event.GpuSpec, cwd: string) =>
    Effect.forEach(
      spec.download,
      (path) =>
        Effect.gen(function* () {
          const inside = Workers.normalizePath(path)
          const t0 = performance.now()
          let error: string | null = null
          if (inside === undefined || inside === "") error = "not a path inside the work dir"
          else {
            const under = Path.posix.dirname(inside)
            error =
              SafeDownload.fetch({
                shell: `${SshExecutor.selfCommand()} ${q(held.worker.name)}`,
                env: { ...process.env, JOBS_HOME: layout.home },
                source: `worker:${held.worker.remoteHome.replace(/\/+$/, "")}/workdirs/${id}/${inside}`,
                root: cwd,
                under: under === "." ? "" : under
              }) ?? null
          }
          yield* append({
            type: "Downloaded",
            ...common(),
            path,
            error,
            durationMs: Math.round(performance.now() - t0)
          })
        }),
      { discard: true }
    )

  /** Fails once a stop is asked for before the command started (after that, the supervisor stops it). */
  const stopWatch = Effect.gen(function* () {
    for (;;) {
      const state = read()
      if (state.stopRequested && state.started === null) return yield* new StoppedBeforeStart()
      yield* Effect.sleep(Math.min(pollMs, 500))
    }
  })

  const program = Effect.gen(function* () {
    if (spec === null || gpu === null) {
      return yield* new SetupError({ stage: "provision", reason: "the job has no gpu spec" })
    }
    const scope = yield* Effect.scope
    const held =
      gpu.instance !== undefined && gpu.instance !== null
        ? yield* attachExisting(gpu.instance, gpu)
        : yield* acquire(scope, gpu)
    yield* note(`instance ${held.offer.provider}:${held.created.id} is ready`)
    const env = RegularFile.readTextOr(paths.envPath, "")
    yield* SshExecutor.start(
      { id, spec, paths, layout },
      undefined,
      { beforeRun: beforeRun(held, gpu, env) },
      held.worker
    ).pipe(
      // what a failed bootstrap step said is in the output on the instance: bring it home before the release
      Effect.tapError(() => SshExecutor.mirror(read(), layout, paths)),
      Effect.mapError((e) =>
        e.why.startsWith(BOOTSTRAP)
          ? new SetupError({ stage: "bootstrap", reason: e.why.slice(BOOTSTRAP.length) })
          : new SetupError({ stage: "sync", reason: e.why })
      )
    )
    kept = gpu.keepAlive
    yield* follow(held)
    yield* download(held, gpu, spec.cwd)
    if (kept)
      yield* Effect.ignore(
        onInstance(held.worker, `rm -f ${SshExecutor.remotePath(held.worker.remoteHome, "jobs", id)}/hold`)
      )
  })

  /** What the log says last when the job never got to (or lost) its command. */
  const finish = (exit: Exit.Exit<unknown, unknown>) =>
    Effect.gen(function* () {
      const state = read()
      if (JobState.isTerminal(state.status)) return
      if (Exit.isSuccess(exit)) return
      const failure = exit.cause._tag === "Fail" ? (exit.cause.error as { _tag?: string }) : undefined
      if (failure?._tag === "StoppedBeforeStart") {
        // stopped before it started: nothing ran (the supervisor's own words for it)
        yield* append({ type: "Exited", ...common(), code: null, signal: null })
      } else if (failure?._tag === "SetupError" && (failure as SetupError).refused === true) {
        yield* append({ type: "FailedToStart", ...common(), reason: (failure as SetupError).reason })
      } else if (failure?._tag === "SetupError") {
        const e = failure as SetupError
        yield* append({ type: "SetupFailed", ...common(), stage: e.stage, reason: e.reason })
      } else if (state.started !== null || state.stopRequested) {
        yield* append({
          type: "Interrupted",
          ...common(),
          reason:
            failure === undefined
              ? "the keeper was stopped (signal)"
              : `the keeper failed: ${String((failure as any).message ?? failure)}`
        })
      } else {
        yield* append({
          type: "SetupFailed",
          ...common(),
          stage: "provision",
          reason:
            failure === undefined
              ? "the keeper was stopped (signal) before the job ran"
              : String((failure as any).message ?? failure)
        })
      }
    })

  return Effect.raceFirst(Effect.scoped(program), stopWatch).pipe(Effect.onExit((exit) => Effect.ignore(finish(exit))))
}

/** Whether no provider of a job's query has an API key here (nothing could be asked for). */
const noKey = (spec: Event.GpuSpec, settings: Providers.Settings): boolean =>
  !spec.query.providers.some((p) => Provider.isProviderName(p) && Providers.hasKey(p, settings))

/** The query of a job's spec, as the Provider port has it. */
export const queryOf = (spec: Event.GpuSpec): Provider.GpuQuery =>
  Provider.query({
    type: spec.query.type ?? undefined,
    count: spec.query.count,
    maxPrice: spec.query.maxPrice ?? undefined,
    minVramGb: spec.query.minVramGb ?? undefined,
    cloudType: spec.query.cloudType === "community" ? "community" : "secure",
    minCuda: spec.query.minCuda,
    containerDiskGb: spec.query.containerDiskGb,
    volumeDiskGb: spec.query.volumeDiskGb,
    providers: spec.query.providers.filter(Provider.isProviderName)
  })

/** Confirms by reading the provider again that an instance is gone (or ending), for up to a minute. */
export const confirmGone = (provider: Provider.Provider, instanceId: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 60; i++) {
      const r = yield* Effect.either(provider.get(instanceId))
      if (r._tag === "Right" && (r.right === undefined || r.right.state === "terminated")) return true
      yield* Effect.sleep(1000)
    }
    return false
  })
