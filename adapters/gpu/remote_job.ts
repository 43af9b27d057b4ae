// RemoteJob (seed 002): one command on a remote node — an SSH host or worker, a GPU instance we already hold, or
// one provisioned from a query — pushed, bootstrapped, run under the supervisor in tmux, streamed, downloaded and
// released. `run` is scoped (leaving the scope stops the job if it still runs and releases the instance unless
// keepAlive); `start` is detached and returns what is needed to come back to it.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { InvalidInput, StorageError } from "../../core/errors.ts"
import * as Home from "../../core/home.ts"
import * as Ids from "../../core/ids.ts"
import * as JobState from "../../core/job_state.ts"
import { type JobReferenceError, Jobs, type SubmitError } from "../../core/jobs.ts"
import * as Provider from "../../core/provider.ts"
import * as Shell from "../../core/shell.ts"
import * as Workers from "../../core/workers.ts"
import type { Event } from "../../events/mod.ts"
import { EventLog, type RegularFile } from "../../events/mod.ts"
import * as SafeDownload from "../safe_download.ts"
import { selfCommand } from "../ssh_executor.ts"
import { liveKeeper } from "./executor.ts"
import { confirmGone } from "./keeper.ts"
import * as Providers from "./providers.ts"

/** What to run where. Exactly one of `ssh`, `nodeId` and `provision`. */
export interface Config {
  /** A connection string (`root@gpu:22`) or the name of a registered worker. */
  readonly ssh?: string | undefined
  /** An instance we already hold, as `provider:instanceId` (`runpod:abc123`). */
  readonly nodeId?: string | undefined
  /** A GPU query: the cheapest offer that can be had is provisioned. */
  readonly provision?: Partial<Provider.GpuQuery> | undefined
  /** A shell command or a list of them, run in the work dir before the command. */
  readonly bootstrap?: string | ReadonlyArray<string> | undefined
  /** A shell string (`sh -c`), or an argv. */
  readonly command: string | ReadonlyArray<string>
  /** Where to run it, relative to the pushed directory. */
  readonly workingDir?: string | undefined
  /** The directory pushed to the node (default: this process's cwd). */
  readonly workspace?: string | undefined
  /** The job's environment: only these values reach the node (0600 env files; never in a log). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Seconds (default 7200). */
  readonly timeout?: number | undefined
  /** Keep the instance after the job: true, or seconds. */
  readonly keepAlive?: boolean | number | undefined
  /** Paths of the work dir copied back into the workspace at the end (GPU jobs). */
  readonly download?: ReadonlyArray<string> | undefined
  /** The container image of a provisioned instance. */
  readonly image?: string | undefined
  readonly name?: string | undefined
}

/** A RemoteJob that cannot be: none or several of ssh, nodeId, provision; or a bad value. */
export class InvalidRemoteJob extends Data.TaggedError("InvalidRemoteJob")<{ readonly why: string }> {
  override get message() {
    return `Cannot make a remote job: ${this.why}`
  }
}

/** A download or a terminate that failed. */
export class RemoteJobFailed extends Data.TaggedError("RemoteJobFailed")<{
  readonly action: string
  readonly why: string
}> {
  override get message() {
    return `Cannot ${this.action}: ${this.why}`
  }
}

/** A running (or ended) remote job. */
export interface Handle {
  readonly jobId: string
  /** The tmux session on the node (`jobs attach`, or tmux -S ~/.jobs/tmux.sock attach -t it there). */
  readonly sessionName: string
  /**
   * The output, line by line, until the job has ended (a job nobody can follow any more ends as interrupted).
   *
   * @example
   * yield* Stream.runForEach(handle.logs, Console.log)
   */
  readonly logs: Stream.Stream<string, JobReferenceError | RegularFile.Unreadable>
  /**
   * Waits for the end; the exit code `jobs wait` gives (128+N for signal N, 125 when there is none, 124 when
   * `timeoutSecs` passed first).
   *
   * @example
   * const code = yield* handle.wait(3600)
   */
  readonly wait: (timeoutSecs?: number) => Effect.Effect<number, JobReferenceError>
  /**
   * Copies a path of the work dir (`./results` and `results` alike) to a local path (relative to the workspace; a
   * trailing `/` or an existing folder means "into it"). Links that lead out of the copy are not recreated.
   *
   * @example
   * yield* handle.download("results", "./local_results/")
   */
  readonly download: (remote: string, local: string) => Effect.Effect<void, RemoteJobFailed>
  /**
   * Stops the job if it runs and terminates its instance now (keepAlive or not).
   *
   * @example
   * yield* handle.terminate
   */
  readonly terminate: Effect.Effect<void, JobReferenceError | InvalidInput | StorageError | Provider.ProviderError>
}

/** A checked RemoteJob. */
export interface RemoteJob {
  readonly config: Config
  /**
   * Starts it and returns at once: the job lives on without this process (`Jobs.wait(jobId)` finds it again).
   *
   * @example
   * const { jobId } = yield* remote.start
   */
  readonly start: Effect.Effect<{ readonly jobId: string; readonly sessionName: string }, SubmitError, Jobs>
  /**
   * Starts it in a scope: leaving the scope stops what still runs and releases the instance (unless keepAlive).
   *
   * @example
   * const code = yield* Effect.scoped(Effect.flatMap(remote.run, (handle) => handle.wait()))
   */
  readonly run: Effect.Effect<Handle, SubmitError, Jobs | Scope.Scope>
}

const q = Shell.quote

const stopIfRunning = (jobs: Jobs, id: string) =>
  Effect.gen(function* () {
    const now = yield* jobs.get(id)
    if (!JobState.isTerminal(now.status)) yield* jobs.stop(id, { graceSecs: 5 })
  })

/** Whether the job's keeper still runs (it downloads after the end, then leaves a kept instance be). */
const keeperBusy = (job: JobState.JobObject) => liveKeeper(Path.dirname(job.eventsPath)) !== undefined

/**
 * Checks a config: exactly one of `ssh`, `nodeId`, `provision`.
 *
 * @example
 * const job = yield* RemoteJob.make({ provision: { type: "A100", count: 2, maxPrice: 3 }, command: "python train.py",
 *   bootstrap: "uv sync --extra dev", env: { HF_TOKEN: token }, download: ["results"] })
 * const handle = yield* job.run // in a scope
 * yield* Stream.runForEach(handle.logs, Console.log)
 */
export const make = (config: Config): Effect.Effect<RemoteJob, InvalidRemoteJob> =>
  Effect.gen(function* () {
    const given = [config.ssh, config.nodeId, config.provision].filter((x) => x !== undefined).length
    if (given !== 1) {
      return yield* new InvalidRemoteJob({
        why: `give exactly one of ssh, nodeId and provision (${given === 0 ? "none" : given} given)`
      })
    }
    if (config.nodeId !== undefined && !/^(runpod|lambda|vast):.+$/.test(config.nodeId)) {
      return yield* new InvalidRemoteJob({
        why: `nodeId "${config.nodeId}" is not provider:instanceId (runpod, lambda or vast)`
      })
    }
    if (config.ssh !== undefined && config.ssh.trim() === "")
      return yield* new InvalidRemoteJob({ why: "ssh is empty" })
    const command = typeof config.command === "string" ? ["sh", "-c", config.command] : [...config.command]
    if (command.length === 0 || command[0] === "") return yield* new InvalidRemoteJob({ why: "the command is empty" })
    if (config.workingDir !== undefined && Workers.normalizePath(config.workingDir) === undefined) {
      return yield* new InvalidRemoteJob({ why: `workingDir "${config.workingDir}" leaves the workspace` })
    }
    const bootstrap =
      config.bootstrap === undefined
        ? []
        : typeof config.bootstrap === "string"
          ? [config.bootstrap]
          : [...config.bootstrap]
    if (config.ssh !== undefined && bootstrap.length > 0) {
      // the bootstrap steps run in front of the command on a plain SSH node (no keeper there to log each)
      command.splice(0, command.length, "sh", "-c", `${bootstrap.join(" && ")} && exec "$@"`, "sh", ...command)
    }
    const inDir = config.workingDir === undefined ? "" : (Workers.normalizePath(config.workingDir) ?? "")
    const argv = inDir === "" ? command : ["sh", "-c", `cd ${q(inDir)} && exec "$@"`, "sh", ...command]
    const keepAlive = config.keepAlive ?? false
    /** How long an instance held by a scoped `run` outlives its job if the scope never closes (a killed process). */
    const LEASE_SECS = 900
    const gpu = (instance: { provider: string; id: string } | null, scoped: boolean): Event.GpuSpec => {
      const query = Provider.query({ ...config.provision })
      return {
        query: Provider.recorded(query),
        bootstrap,
        download: [...(config.download ?? [])],
        // a scoped run holds the instance until its scope ends (downloads happen in it): the scope releases it
        keepAlive: keepAlive !== false || scoped,
        keepAliveSecs: typeof keepAlive === "number" ? keepAlive : keepAlive === true ? null : LEASE_SECS,
        image: config.image ?? "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04",
        sshTimeoutSecs: 600,
        providerTimeoutSecs: 1200,
        instance
      }
    }

    const submit = (scoped: boolean) =>
      Effect.gen(function* () {
        const jobs = yield* Jobs
        const isGpu = config.ssh === undefined
        const [provider, instanceId] = config.nodeId === undefined ? [] : config.nodeId.split(/:(.*)/s)
        const volume = config.provision?.volumeDiskGb ?? 0
        const { job } = yield* jobs.submit({
          command: argv,
          cwd: Path.resolve(config.workspace ?? process.cwd()),
          env: { ...(isGpu && volume > 0 ? { HF_HOME: `${Provider.VOLUME_PATH}/hf` } : {}), ...config.env },
          name: config.name ?? null,
          timeoutSecs: config.timeout ?? 7200,
          executor: isGpu ? "gpu" : "ssh",
          worker: isGpu ? Workers.GPU : config.ssh!,
          ...(isGpu ? { gpu: gpu(provider === undefined ? null : { provider, id: instanceId! }, scoped) } : {})
        })
        return job
      })

    const handleOf = (job: JobState.JobObject, jobs: Jobs): Handle => {
      // <home>/jobs/<id>/events.jsonl
      const layout = Home.layout(Path.dirname(Path.dirname(Path.dirname(job.eventsPath))))
      const terminate = Effect.gen(function* () {
        yield* stopIfRunning(jobs, job.id)
        // the keeper (if it still follows the job) sees the end first: its downloads finish before the instance goes
        for (let i = 0; i < 300; i++) {
          const settled = JobState.fold(job.id, EventLog.replaySync(job.eventsPath).events)
          if (JobState.isTerminal(settled.status) && !keeperBusy(job)) break
          yield* Effect.sleep("100 millis")
        }
        const state = JobState.fold(job.id, EventLog.replaySync(job.eventsPath).events)
        for (const instance of state.instances) {
          const events = EventLog.replaySync(job.eventsPath).events
          const p = events.find((e) => e.type === "Provisioned" && e.instanceId === instance.id)
          if (p?.type !== "Provisioned" || !Provider.isProviderName(p.provider)) continue
          const client = Providers.make(p.provider)
          yield* client.terminate(instance.id)
          const confirmed = yield* confirmGone(client, instance.id)
          const billedSecs = Math.max(1, Math.round((Date.now() - Date.parse(instance.since)) / 1000))
          EventLog.appendSync(job.eventsPath, [
            {
              type: "Terminated",
              v: 1,
              id: Ids.make(),
              job: job.id,
              at: new Date().toISOString(),
              provider: p.provider,
              instanceId: instance.id,
              by: "library",
              confirmed,
              billedSecs,
              pricePerHour: instance.pricePerHour,
              cost: Math.round(((instance.pricePerHour * billedSecs) / 3600) * 10_000) / 10_000
            }
          ])
        }
      })
      return {
        jobId: job.id,
        sessionName: `jobs-${Ids.shortId(job.id)}`,
        logs: jobs.output(job.id, { follow: true }).pipe(Stream.decodeText(), Stream.splitLines),
        wait: (timeoutSecs) =>
          Effect.gen(function* () {
            const ended = yield* jobs.wait(job.id, { timeoutSecs })
            return Option.match(ended, { onNone: () => 124, onSome: JobState.waitExitCode })
          }),
        download: (remote, local) =>
          Effect.gen(function* () {
            const inside = Workers.normalizePath(remote)
            if (inside === undefined)
              return yield* new RemoteJobFailed({
                action: `download "${remote}"`,
                why: "give a path inside the work dir"
              })
            const worker = Workers.find(layout, job.worker, job.id)
            if (worker === undefined)
              return yield* new RemoteJobFailed({ action: `download "${remote}"`, why: "the node cannot be found" })
            const target = Path.resolve(config.workspace ?? process.cwd(), local)
            // as with cp: LOCAL/ (or an existing folder) means "into this folder"
            const into = local.endsWith("/") || (Fs.statSync(target, { throwIfNoEntry: false })?.isDirectory() ?? false)
            const why = SafeDownload.fetch({
              shell: `${selfCommand()} ${q(worker.name)}`,
              env: { ...process.env, JOBS_HOME: layout.home },
              source: `worker:${worker.remoteHome.replace(/\/+$/, "")}/workdirs/${job.id}/${inside}`,
              root: into ? target : Path.dirname(target),
              ...(into || inside === "" ? {} : { name: Path.basename(target) })
            })
            if (why !== undefined) return yield* new RemoteJobFailed({ action: `download "${remote}"`, why })
          }),
        terminate
      }
    }

    const run = Effect.gen(function* () {
      const jobs = yield* Jobs
      const job = yield* Effect.acquireRelease(submit(true), (job) => {
        const handle = handleOf(job, jobs)
        // leaving the scope: the job stops if it still runs, and the instance is released (unless kept)
        return (keepAlive === false ? handle.terminate : stopIfRunning(jobs, job.id)).pipe(Effect.ignore)
      })
      return handleOf(job, jobs)
    })

    return {
      config,
      start: Effect.map(submit(false), (job) => ({ jobId: job.id, sessionName: `jobs-${Ids.shortId(job.id)}` })),
      run
    }
  })
