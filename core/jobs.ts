// The Jobs service: submit, read, list, stop, wait, retry, remove, clean, and Streams of events and output.
// The CLI, the dashboard and Effect apps all go through it.

import * as Fs from "node:fs"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { type Event, EventLog, Follow, RegularFile } from "../events/mod.ts"
import * as Config from "./config.ts"
import {
  AmbiguousReference,
  type DamagedJob,
  InvalidInput,
  JobNotFound,
  JobStateConflict,
  type StartFailed,
  type StorageError,
  type Unavailable
} from "./errors.ts"
import { Executors } from "./executor.ts"
import * as Feed from "./feed.ts"
import * as Ids from "./ids.ts"
import * as JobIndex from "./job_index.ts"
import * as JobState from "./job_state.ts"
import { JobStore, type Loaded } from "./job_store.ts"
import * as OutputLog from "./output_log.ts"
import * as Reference from "./reference.ts"
import * as Submit from "./submit.ts"
import { DEFAULT_GRACE_SECS, eventId, now } from "./submit.ts"

/** What a caller asks to run (the CLI's form: the whole environment), and what submitting gives. */
export type { Submission, SubmitInput } from "./submit.ts"
export { DEFAULT_GRACE_SECS } from "./submit.ts"

/** What removing a remote job does with its files on the worker. */
export type RemoteFiles = "delete" | "keep"

/** Which jobs `list` gives. */
export interface ListOptions {
  /** Only jobs of this project; undefined for every project. */
  readonly project?: string | undefined
  /** Only jobs with one of these statuses. */
  readonly statuses?: ReadonlyArray<JobState.Status> | undefined
  /** Newest first, at most this many (0 or undefined: all). */
  readonly limit?: number | undefined
}

/** The variables a local job gets from the process that submits it, unless `clearEnv` (DESIGN §4a). */
export const BASE_ENV: ReadonlyArray<string> = ["PATH", "HOME", "USER", "LANG", "TZ", "TMPDIR"]

/** What an app asks to run: a SubmitInput whose environment is added to a base (see `env` and `clearEnv`). */
export interface SubmitOptions extends Omit<Submit.SubmitInput, "env" | "onProgress"> {
  /**
   * Variables for the job (`process.env` is accepted; undefined values are left out). A local job gets them on top
   * of PATH, HOME, USER, LANG, TZ and TMPDIR of this process; a remote one gets them on top of what a login shell
   * there gets.
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The job gets exactly `env`, without the base from this process. */
  readonly clearEnv?: boolean | undefined
}

/** How `stop` ends a job. */
export interface StopOptions {
  /** The signal sent to the job's process group first, by name (TERM, "SIGINT", ...; default TERM). */
  readonly signal?: string | undefined
  /** Seconds between that signal and KILL (default: the job's own, else 10). */
  readonly graceSecs?: number | undefined
}

/** What `stop` did to a job. */
export interface StopResult {
  /** The job now (ended unless its supervisor could not be reached in time). */
  readonly job: JobState.JobObject
  /** The job had ended before: nothing was sent. */
  readonly alreadyEnded: boolean
}

/** How many jobs a home has, by status. */
export interface Summary {
  readonly home: string
  readonly total: number
  readonly counts: Readonly<Record<JobState.Status, number>>
}

/** What `clean` removes. */
export interface CleanOptions extends ListOptions {
  /** Only jobs that ended at least this long ago (default: `keep:` in config.yaml, else 0). */
  readonly olderThanSecs?: number | undefined
  /** Only jobs of this queue group. */
  readonly group?: string | undefined
  /** A remote job's work dir on its worker: "delete" (default), "keep", or "skip" the job altogether. */
  readonly remote?: RemoteFiles | "skip" | undefined
  /** Hears of each remote job left alone by `remote: "skip"`. */
  readonly onSkipped?: ((job: JobState.JobObject) => void) | undefined
  /** A remote job whose worker could not be reached: it stays whole, here and there; `why` says so. */
  readonly onUnreachable?: ((job: JobState.JobObject, why: string) => void) | undefined
}

/** The errors of a method that names a job (a home that cannot be read included). */
export type JobReferenceError = JobNotFound | AmbiguousReference | DamagedJob | StorageError

/** The errors of submitting. */
export type SubmitError = InvalidInput | StorageError | StartFailed | Unavailable

/**
 * The Jobs service: every job of one home, local or remote, as the CLI, the dashboard and scripts see them. A job is
 * named by a reference: its id, short id, name, or a unique prefix of at least 4 characters.
 */
export interface Jobs {
  /**
   * Submits a job and returns once it has been started (its supervisor runs; the command may not have yet). With a
   * `key` that was used before, gives the job of that key back (`existing: true`) instead of a new one.
   *
   * @example
   * const { job } = yield* jobs.submit({ command: ["make", "test"], cwd: process.cwd(), env: { CI: "1" } })
   */
  readonly submit: (options: SubmitOptions) => Effect.Effect<Submit.Submission, SubmitError>
  /**
   * Submits many jobs at once: all are checked before anything is written, and started together.
   *
   * @example
   * const submitted = yield* jobs.submitMany(files.map((f) => ({ command: ["gzip", f], cwd: dir })))
   */
  readonly submitMany: (
    options: ReadonlyArray<SubmitOptions>
  ) => Effect.Effect<ReadonlyArray<Submit.Submission>, SubmitError>
  /**
   * A job as it is now (a supervisor found gone is recorded as interrupted first).
   *
   * @example
   * const job = yield* jobs.get("build") // { id, shortId, name: "build", status: "running", ... }
   */
  readonly get: (reference: string) => Effect.Effect<JobState.JobObject, JobReferenceError>
  /**
   * The jobs of the home, newest first; `more` says that `limit` left some out.
   *
   * @example
   * const { jobs: running } = yield* jobs.list({ statuses: ["running"], limit: 20 })
   */
  readonly list: (
    options?: ListOptions
  ) => Effect.Effect<{ readonly jobs: ReadonlyArray<JobState.JobObject>; readonly more: boolean }, StorageError>
  /**
   * How many jobs the home has, by status.
   *
   * @example
   * const { counts } = yield* jobs.summary // counts.running, counts.failed, ...
   */
  readonly summary: Effect.Effect<Summary, StorageError>
  /**
   * Stops a job: its whole process group gets `signal`, then KILL after the grace period; returns once it has ended.
   * Stopping an ended job changes nothing (`alreadyEnded`).
   *
   * @example
   * const { job } = yield* jobs.stop(id, { signal: "INT", graceSecs: 5 }) // job.status === "stopped"
   */
  readonly stop: (
    reference: string,
    options?: StopOptions
  ) => Effect.Effect<StopResult, JobReferenceError | InvalidInput | StorageError>
  /**
   * Stops many jobs side by side (every one is signalled before any is waited for); results in their order.
   *
   * @example
   * const results = yield* jobs.stopMany([a, b, c])
   */
  readonly stopMany: (
    references: ReadonlyArray<string>,
    options?: StopOptions
  ) => Effect.Effect<ReadonlyArray<StopResult>, JobReferenceError | InvalidInput | StorageError>
  /**
   * Waits until the job has ended (a GPU job: and its downloads and release are done); None when `timeoutSecs`
   * passed first. `JobState.waitExitCode(job)` gives the exit code `jobs wait` would.
   *
   * @example
   * const ended = yield* jobs.wait(job.id, { timeoutSecs: 600 }) // Option<JobObject>
   */
  readonly wait: (
    reference: string,
    options?: { readonly timeoutSecs?: number | undefined }
  ) => Effect.Effect<Option.Option<JobState.JobObject>, JobReferenceError>
  /**
   * Runs a job again (its command, cwd, environment and executor) as a new job linked by `retryOf`.
   *
   * @example
   * const { job: again } = yield* jobs.retry(job.id)
   */
  readonly retry: (
    reference: string
  ) => Effect.Effect<Submit.Submission, JobReferenceError | SubmitError | JobStateConflict>
  /**
   * Deletes a job's folder; a job that still runs is refused unless `force` (which kills it). A remote job's work
   * dir on its worker goes too, unless `remote: "keep"`.
   *
   * @example
   * yield* jobs.remove(job.id, { force: true })
   */
  readonly remove: (
    reference: string,
    options?: { readonly force?: boolean | undefined; readonly remote?: RemoteFiles | undefined }
  ) => Effect.Effect<JobState.JobObject, JobReferenceError | JobStateConflict | InvalidInput | StorageError>
  /**
   * Removes ended jobs, and gives the ones removed.
   *
   * @example
   * const removed = yield* jobs.clean({ olderThanSecs: 7 * 86400, statuses: ["completed"] })
   */
  readonly clean: (
    options?: CleanOptions
  ) => Effect.Effect<ReadonlyArray<JobState.JobObject>, InvalidInput | StorageError>
  /**
   * A job's events from the first; with `follow`, goes on until the job has ended (a supervisor or keeper found
   * gone ends it with Interrupted).
   *
   * @example
   * yield* Stream.runForEach(jobs.events(id, { follow: true }), (e) => Console.log(e.type))
   */
  readonly events: (
    reference: string,
    options?: { readonly follow?: boolean | undefined }
  ) => Stream.Stream<Event.Event, JobReferenceError | RegularFile.Unreadable>
  /**
   * A job's output (stdout and stderr as written) from the start, or its last `tailLines` lines; with `follow`,
   * until the job has ended.
   *
   * @example
   * yield* jobs.output(id, { follow: true }).pipe(Stream.decodeText(), Stream.splitLines, Stream.runForEach(Console.log))
   */
  readonly output: (
    reference: string,
    options?: { readonly follow?: boolean | undefined; readonly tailLines?: number | undefined }
  ) => Stream.Stream<Uint8Array, JobReferenceError | RegularFile.Unreadable>
  /**
   * Every job's events as one stream, the all-jobs feed: new jobs as they appear, from now (`follow`) or from a
   * cursor or a time (`since`), each item with a cursor to resume from; live jobs are judged while it follows (a
   * supervisor killed shows up as Interrupted). See `Feed.stream`.
   *
   * @example
   * yield* Stream.runForEach(jobs.feed({ follow: true }), (item) => Console.log(item.cursor, item.event.type))
   */
  readonly feed: (options?: Feed.Options) => Stream.Stream<Feed.Item>
}

/**
 * What the CLI, the dashboard and the GPU commands need beyond the public service: reading a job without judging
 * it, resolving references, and submitting with the whole environment given.
 */
export interface Internal extends Jobs {
  /** Submits with `env` as the job's whole environment (what the CLI passes). */
  readonly submitInput: (input: Submit.SubmitInput) => Effect.Effect<Submit.Submission, SubmitError>
  readonly submitManyInput: (
    inputs: ReadonlyArray<Submit.SubmitInput>
  ) => Effect.Effect<ReadonlyArray<Submit.Submission>, SubmitError>
  /** The id a reference names. */
  readonly resolve: (reference: string) => Effect.Effect<string, JobNotFound | AmbiguousReference | StorageError>
  /** A job read fresh from its log and settled (a vanished supervisor recorded), damaged or not. */
  readonly refresh: (id: string) => Effect.Effect<Loaded>
  /** Whether jobs of this executor leave files on a remote side (a worker's work dir). */
  readonly isRemote: (executorKind: string) => boolean
  /** The jobs that have not ended (pending, running, unknown), optionally only those of a queue group. */
  readonly unfinished: (options?: {
    readonly group?: string | undefined
  }) => Effect.Effect<ReadonlyArray<string>, StorageError>
}

/** A local job's environment as an app asks for it: the base from this process (unless cleared), then `env`. */
export const environment = (options: SubmitOptions): Record<string, string> => {
  const env: Record<string, string> = {}
  const local = options.executor === undefined || options.executor === "local" || options.executor === "tmux"
  if (options.clearEnv !== true && local) {
    for (const name of BASE_ENV) {
      const value = process.env[name]
      if (value !== undefined) env[name] = value
    }
  }
  for (const [name, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[name] = value
  return env
}

const inputOf = (options: SubmitOptions): Submit.SubmitInput => {
  const { clearEnv: _, ...rest } = options
  return { ...rest, env: environment(options) }
}

/** How many jobs `list` reads at once (at most this many connections to workers at a time). */
const READ_AHEAD = 8

/** Builds the service over a store and the executors. */
export const make: Effect.Effect<Internal, never, JobStore | Executors> = Effect.gen(function* () {
  const store = yield* JobStore
  const executors = yield* Executors

  const { submit, submitMany, refresh, executorFor, toObject, warnDamaged, readable } = Submit.make(store, executors)

  const resolve = (reference: string) =>
    Effect.gen(function* () {
      const ids = yield* store.ids
      const resolution = Reference.resolve(reference, ids, () => {
        const index = JobIndex.load(store.layout)
        return ids.map((id) => ({ id, name: index.get(id)?.name ?? store.nameOf(id) }))
      })
      switch (resolution._tag) {
        case "Found":
          return resolution.id
        case "NotFound": {
          const lower = reference.toLowerCase()
          const short =
            reference.length < Reference.MIN_PREFIX &&
            reference !== "" &&
            ids.some((id) => Ids.shortId(id).startsWith(lower) || id.startsWith(reference.toUpperCase()))
          return yield* new JobNotFound({ reference, ...(short ? { minPrefix: Reference.MIN_PREFIX } : {}) })
        }
        case "Ambiguous":
          return yield* new AmbiguousReference({
            reference,
            // newest first, as `name (shortid)`
            candidates: [...resolution.candidates]
              .sort()
              .reverse()
              .map((id) => {
                return Ids.label(id, store.nameOf(id))
              })
          })
      }
    })

  /** A job read fresh and settled, or DamagedJob when its folder cannot be read as a job. */
  const load = (id: string) => Effect.flatMap(refresh(id), readable)

  /** The job a reference names, freshly settled. */
  const get = (reference: string) => Effect.flatMap(resolve(reference), load).pipe(Effect.map(toObject))

  /**
   * The state of every job, newest first, settled: ended jobs come from the index when it knows them (their logs
   * no longer change), the others from their logs, and newly ended ones are added to the index.
   */
  const scan = () => {
    const index = JobIndex.load(store.layout)
    const added: Array<readonly [string, JobIndex.Entry]> = []
    /** What the index knows of an ended job (cheap), or undefined. */
    const known = (id: string) => index.get(id)
    /** Reads a job from its log, and indexes it if it has ended. */
    const settle = (id: string) =>
      Effect.map(refresh(id), (loaded) => {
        const ended = JobIndex.entryOf(loaded.state)
        if (ended !== undefined) added.push([id, ended])
        return loaded
      })
    const flush = Effect.sync(() => JobIndex.append(store.layout, added))
    return { known, settle, flush }
  }

  const list = (options: ListOptions = {}) =>
    Effect.gen(function* () {
      const ids = yield* store.ids
      const limit = options.limit !== undefined && options.limit > 0 ? options.limit : Number.POSITIVE_INFINITY
      const filtered = options.project !== undefined || options.statuses !== undefined
      const index = filtered ? scan() : undefined
      const out: Array<JobState.JobObject> = []
      let more = false
      // jobs are read a few at a time, concurrently: a remote job's refresh is a round trip to its worker, and
      // ten of them one after the other would make `list` take seconds
      const ahead = new Map<string, Loaded>()
      const read = (i: number) =>
        Effect.gen(function* () {
          const id = ids[i]!
          if (!ahead.has(id)) {
            const batch: Array<string> = [id]
            for (let j = i - 1; j >= 0 && batch.length < READ_AHEAD; j--) {
              if (index?.known(ids[j]!) === undefined) batch.push(ids[j]!)
            }
            const loaded = yield* Effect.forEach(batch, (b) => (index === undefined ? refresh(b) : index.settle(b)), {
              concurrency: READ_AHEAD
            })
            for (const [n, b] of batch.entries()) ahead.set(b, loaded[n]!)
          }
          const loaded = ahead.get(id)!
          ahead.delete(id)
          return loaded
        })
      for (let i = ids.length - 1; i >= 0; i--) {
        const id = ids[i]!
        let loaded: Loaded | undefined
        if (index !== undefined) {
          const known = index.known(id)
          if (known === undefined) loaded = yield* read(i)
          if (loaded?.damaged != null) {
            yield* warnDamaged(loaded)
            continue
          }
          const project = known?.project ?? loaded?.state.spec?.project ?? null
          const status = known?.status ?? loaded!.state.status
          if (options.project !== undefined && project !== options.project) continue
          if (options.statuses !== undefined && !options.statuses.includes(status)) continue
        }
        if (out.length >= limit) {
          more = true
          break
        }
        loaded ??= yield* read(i)
        if (loaded.damaged !== null) {
          yield* warnDamaged(loaded)
          continue
        }
        // removed since the folder was listed (`rm` and `clean` rename it away first): not a job any more
        if (loaded.state.spec === null && !Fs.existsSync(loaded.paths.dir)) continue
        if (options.statuses !== undefined && !options.statuses.includes(loaded.state.status)) continue
        out.push(toObject(loaded))
      }
      if (index !== undefined) yield* index.flush
      return { jobs: out, more }
    })

  const summary = Effect.gen(function* () {
    const ids = yield* store.ids
    const counts = Object.fromEntries(JobState.STATUSES.map((s) => [s, 0])) as Record<JobState.Status, number>
    const index = scan()
    let total = 0
    for (const id of ids) {
      const known = index.known(id)
      const loaded = known === undefined ? yield* index.settle(id) : undefined
      // removed since the folder was listed: not a job any more
      if (loaded !== undefined && loaded.state.spec === null && !Fs.existsSync(loaded.paths.dir)) continue
      if (loaded !== undefined && loaded.damaged !== null) {
        yield* warnDamaged(loaded)
        continue
      }
      counts[known?.status ?? loaded!.state.status]++
      total++
    }
    yield* index.flush
    return { home: store.home, total, counts }
  })

  /**
   * Stops jobs: records each request, signals each supervisor (which sends `signal` to the whole process group, then
   * KILL after the grace period), and waits until they have all ended. Every job is signalled before any is waited
   * for, so stopping many lasts about as long as stopping one. An interrupted job lost its supervisor, not
   * necessarily its command: what is left of it is stopped. Stopping an ended job changes nothing. Every reference
   * is resolved before anything is stopped; the results are in their order.
   */
  const stopMany = (references: ReadonlyArray<string>, options: StopOptions = {}) =>
    Effect.gen(function* () {
      const signal = JobState.signalName(options.signal ?? "TERM")
      if (signal === undefined) {
        return yield* new InvalidInput({ message: `Cannot send signal "${options.signal}": unknown signal` })
      }
      const ids = [...new Set(yield* Effect.forEach(references, resolve))]
      const stopOne = (id: string) =>
        Effect.gen(function* () {
          const loaded = yield* load(id)
          const graceSecs = options.graceSecs ?? loaded.state.spec?.graceSecs ?? DEFAULT_GRACE_SECS
          const executor = yield* executorFor(loaded.state.spec?.executor ?? "local")
          if (JobState.isTerminal(loaded.state.status)) {
            const orphans = JobState.vanished(loaded.state)
              ? yield* executor.stopOrphans(loaded.state, signal, graceSecs)
              : false
            return { job: toObject(loaded), alreadyEnded: !orphans }
          }
          if (!loaded.state.stopRequested) {
            // the event first: a supervisor that sees the request before starting records Exited after it
            yield* store.append(id, {
              type: "StopRequested",
              v: 1,
              id: eventId(),
              job: id,
              at: now(),
              signal,
              graceSecs
            })
            yield* store.writeStopRequest(id, signal, graceSecs)
          }
          // a supervisor carries its stop out within the grace; many at once take the machine a little longer
          const deadline = Date.now() + (graceSecs + 10 + Math.ceil(ids.length / 5)) * 1000
          let signalled = false
          let current = loaded
          while (Date.now() < deadline) {
            current = yield* refresh(id)
            if (JobState.isTerminal(current.state.status)) break
            const held = executor.stopsPending === true && current.state.status === "pending"
            if ((current.state.status === "running" || current.state.queued !== null || held) && !signalled) {
              // forked: a requestStop that enforces the grace itself runs while this loop watches the log
              yield* Effect.fork(executor.requestStop(current.state, signal, graceSecs))
              signalled = true
            }
            yield* Effect.sleep(ids.length > 1 ? "200 millis" : "25 millis")
          }
          return { job: toObject(current), alreadyEnded: false }
        })
      // every request is recorded and signalled before the first wait: the loops run side by side
      return yield* Effect.forEach(ids, stopOne, { concurrency: "unbounded" })
    })

  /** Stops one job (see `stopMany`). */
  const stop = (reference: string, options: StopOptions = {}) =>
    Effect.map(stopMany([reference], options), (results) => results[0]!)

  /**
   * The jobs that have not ended (pending, running, unknown), and the interrupted ones whose command still runs (their
   * supervisor is gone, not what it ran), newest first, optionally only those of a queue group.
   */
  const unfinished = (options: { readonly group?: string | undefined } = {}) =>
    Effect.gen(function* () {
      const { jobs } = yield* list({ statuses: ["pending", "running", "unknown", "interrupted", "timed-out"] })
      const inGroup = jobs.filter((j) => options.group === undefined || j.group === options.group)
      // what is left of an interrupted job is looked for only where something may be: a command was started, and
      // the executor can tell; a few at a time (a remote one is a round trip to its worker)
      const running = yield* Effect.forEach(
        inGroup,
        (job) =>
          Effect.gen(function* () {
            if (!JobState.isTerminal(job.status)) return true
            if (!JobState.vanished(job)) return false
            const orphans = executors.get(job.executor)?.orphans
            if (orphans === undefined || job.pid === null) return false
            const loaded = yield* store.read(job.id)
            return (yield* orphans(loaded.state)) === "alive"
          }),
        { concurrency: READ_AHEAD }
      )
      return inGroup.filter((_, i) => running[i]).map((j) => j.id)
    })

  /** Waits until the job has ended; None when `timeoutSecs` passed first. */
  const wait = (reference: string, options: { readonly timeoutSecs?: number | undefined } = {}) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      const paths = store.paths(id)
      const untilEnded = Effect.scoped(
        Effect.gen(function* () {
          yield* load(id)
          const changed = yield* Follow.changes([paths.eventsPath])
          // a remote job's events stream home over one connection; a full refresh (a round trip, and the judgement
          // of a supervisor gone without a word) then runs only now and then
          const first = yield* refresh(id)
          const remote = yield* remoteFollower(first)
          const settled = executors.get(first.state.spec?.executor ?? "local")?.settled
          for (let tick = 0; ; tick++) {
            const loaded = yield* readable(
              remote === undefined || tick % 10 === 0 ? yield* refresh(id) : yield* store.read(id)
            )
            if (JobState.isTerminal(loaded.state.status)) {
              // the work the job names includes what follows its end (a GPU job's downloads, its instance's release)
              if (settled === undefined) return toObject(loaded)
              if (yield* settled(loaded.state, loaded.paths)) return toObject(yield* store.read(id))
              yield* Effect.sleep("200 millis")
              continue
            }
            yield* changed.next
          }
        })
      )
      return options.timeoutSecs === undefined
        ? Option.some(yield* untilEnded)
        : yield* Effect.timeoutOption(untilEnded, `${options.timeoutSecs} seconds`)
    })

  /**
   * Runs a job again: its whole spec (every executor's part), environment and umask, a new id, linked by `retryOf`.
   * Its recorded cwd is used as it is: a relative one (written by earlier versions) is refused, never taken from this
   * process's directory.
   */
  const retry = (reference: string) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      const loaded = yield* load(id)
      const spec = loaded.state.spec
      if (spec === null) {
        return yield* new JobStateConflict({
          message: `Cannot retry job "${Ids.label(id, store.nameOf(id))}": its log has no Submitted event`
        })
      }
      const env = yield* store.readEnv(id)
      const ids = yield* store.ids
      // a remote job that ran without pushing its cwd (-n) is retried without a push too
      const pushed = EventLog.replaySync(loaded.paths.eventsPath).events.some((e) => e.type === "Synced")
      const noPush = spec.worker !== null && loaded.state.started !== null && !pushed
      return yield* submit({
        command: spec.command,
        cwd: spec.cwd,
        env,
        name: spec.name,
        timeoutSecs: spec.timeoutSecs,
        graceSecs: spec.graceSecs,
        retryOf: id,
        executor: spec.executor,
        progressPattern: spec.progressPattern ?? null,
        onDone: spec.onDone ?? null,
        maxLogBytes: spec.maxLogBytes ?? null,
        group: spec.group ?? null,
        ...(spec.priority === undefined ? {} : { priority: spec.priority }),
        // the dependencies that are still there (a removed one has nothing left to wait for)
        after: spec.after == null ? null : { ...spec.after, jobs: spec.after.jobs.filter((j) => ids.includes(j)) },
        worker: spec.worker,
        slurm: spec.slurm ?? null,
        // the whole GPU part (bootstrap, downloads, keep-alive...); a new instance, never the one the first run held
        ...(spec.gpu === undefined || spec.gpu === null ? {} : { gpu: { ...spec.gpu, instance: null } }),
        ...(noPush ? { sync: false } : {}),
        // the umask it ran under; a log of an earlier version has none, and the retry gets this process's
        ...(spec.umask === undefined ? {} : { umask: spec.umask })
      })
    })

  /** Whether a job left files on a remote side (a worker's work dir) that removing it would delete. */
  const isRemote = (executorKind: string) => executors.get(executorKind)?.removeRemote !== undefined

  const removeLoaded = (loaded: Loaded, remote: RemoteFiles | undefined = "delete") =>
    Effect.gen(function* () {
      const executor = executors.get(loaded.state.spec?.executor ?? "local")
      // the remote side first: a worker that cannot be reached leaves the job whole, not forgotten half-way
      if (remote === "delete" && executor?.removeRemote !== undefined) {
        const removed = Effect.mapError(
          executor.removeRemote(loaded.state),
          (why) =>
            new JobStateConflict({
              message: `Cannot remove job "${Ids.label(loaded.state.id, loaded.state.spec?.name)}" from ${why} (keeping the remote files removes it here only)`
            })
        )
        // a job that failed to start left nothing there, or its worker is the very one that could not be reached
        yield* loaded.state.status === "failed-to-start" ? Effect.ignore(removed) : removed
      }
      const key = loaded.state.spec?.key ?? null
      if (key !== null) yield* store.releaseKey(key, loaded.state.id)
      if (executor !== undefined) yield* executor.release(loaded.state, store.layout)
      yield* store.remove(loaded.state.id)
    })

  /**
   * Deletes a job's folder (and frees its key). A job that still runs is refused unless `force`, which kills it.
   * A remote job's folder and work dir on its worker are deleted too, unless `remote` is "keep".
   */
  const remove = (
    reference: string,
    options: { readonly force?: boolean | undefined; readonly remote?: RemoteFiles | undefined } = {}
  ) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      let loaded = yield* refresh(id)
      if (loaded.damaged !== null) {
        // nothing in it can be trusted to say what runs: the folder goes, and nothing else is touched
        if (options.force !== true) {
          return yield* new JobStateConflict({
            message: `Cannot remove job "${id}": ${loaded.damaged} (removing it with force deletes its folder)`
          })
        }
        yield* store.remove(id)
        return toObject(loaded)
      }
      if (!JobState.isTerminal(loaded.state.status)) {
        if (options.force !== true) {
          return yield* new JobStateConflict({
            message: `Cannot remove job "${Ids.label(id, loaded.state.spec?.name)}": it is ${loaded.state.status} (stop it first, or remove it with force)`
          })
        }
        yield* stop(id, { signal: "SIGKILL", graceSecs: 0 })
        loaded = yield* refresh(id)
      }
      yield* removeLoaded(loaded, options.remote)
      return toObject(loaded)
    })

  /**
   * Removes ended jobs, optionally only those that ended before `olderThanSecs` ago or have given statuses.
   * Remote jobs: `remote` "delete" (the default) deletes their work dirs on the workers too, "keep" leaves those,
   * "skip" leaves such jobs alone altogether (`onSkipped` hears of each).
   */
  const clean = (options: CleanOptions = {}) =>
    Effect.gen(function* () {
      // without --older-than, the home's `keep:` setting (config.yaml) holds recent jobs back
      const keepSecs = options.olderThanSecs ?? (yield* Config.load(store.layout)).keepSecs ?? 0
      const ids = yield* store.ids
      const cutoff = Date.now() - keepSecs * 1000
      const removed: Array<JobState.JobObject> = []
      // what a killed `run` or `rm` left out of sight goes too
      yield* store.sweep
      for (const id of ids) {
        const loaded = yield* refresh(id)
        const state = loaded.state
        if (loaded.damaged !== null) {
          yield* warnDamaged(loaded)
          continue
        }
        if (!JobState.isTerminal(state.status)) continue
        if (options.project !== undefined && state.spec?.project !== options.project) continue
        if (options.statuses !== undefined && !options.statuses.includes(state.status)) continue
        if (options.group !== undefined && state.spec?.group !== options.group) continue
        const ended = Date.parse(state.finishedAt ?? state.createdAt ?? "") || Ids.time(id)
        if (ended > cutoff) continue
        if (options.remote === "skip" && isRemote(state.spec?.executor ?? "local")) {
          options.onSkipped?.(toObject(loaded))
          continue
        }
        // a worker that cannot be reached keeps its jobs whole; the others are cleaned all the same
        const done = yield* removeLoaded(loaded, options.remote === "keep" ? "keep" : "delete").pipe(
          Effect.as(true),
          Effect.catchTag("JobStateConflict", (e) =>
            Effect.sync(() => {
              options.onUnreachable?.(toObject(loaded), e.message)
              return false
            })
          )
        )
        if (done) removed.push(toObject(loaded))
      }
      return removed
    })

  const isEnded = (id: string) => Effect.map(refresh(id), (l) => JobState.isTerminal(l.state.status))

  /**
   * For a remote job that is followed: streams its remote events and output into the local files for the life of
   * the scope (one connection, resumed after a drop), and says whether the local files show the job ended — no
   * connection per check. Undefined for a local job.
   *
   * The executor's follower returns when the job has ended or when nobody can follow it any more (a GPU job's keeper
   * died before it had an instance): from then on the job is judged as every reader judges it (`refresh`, which
   * records Interrupted), so that a follower always ends.
   */
  const remoteFollower = (loaded: Loaded) =>
    Effect.gen(function* () {
      const executor = executors.get(loaded.state.spec?.executor ?? "local")
      if (executor?.follow === undefined || JobState.isTerminal(loaded.state.status)) return undefined
      const judge = Effect.repeat(refresh(loaded.state.id), {
        schedule: Schedule.spaced("2 seconds"),
        until: (l) => JobState.isTerminal(l.state.status)
      })
      yield* Effect.forkScoped(Effect.zipRight(Effect.ignore(executor.follow(loaded.state, loaded.paths)), judge))
      return Effect.map(store.read(loaded.state.id), (l) => JobState.isTerminal(l.state.status))
    })

  /** A job's events; with `follow`, goes on until the job has ended. */
  const events = (reference: string, options: { readonly follow?: boolean | undefined } = {}) =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const id = yield* resolve(reference)
        const loaded = yield* load(id)
        const path = loaded.paths.eventsPath
        if (options.follow !== true) return Stream.fromIterable(EventLog.replaySync(path).events)
        // a remote job streams its events home; a local one has a watcher of liveness: a supervisor that vanishes
        // is recorded as Interrupted, which ends the stream
        const remote = yield* remoteFollower(loaded)
        if (remote === undefined) yield* Effect.forkScoped(Effect.repeat(refresh(id), Schedule.spaced("1 second")))
        return Follow.events(path).pipe(Stream.takeUntil((e) => JobState.ENDINGS.has(e.type)))
      })
    )

  /** A job's output from the start (or the last `tailLines` lines); with `follow`, until the job has ended. */
  const output = (
    reference: string,
    options: { readonly follow?: boolean | undefined; readonly tailLines?: number | undefined } = {}
  ) =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const id = yield* resolve(reference)
        const paths = store.paths(id)
        const loaded = yield* load(id)
        const remote = options.follow === true ? yield* remoteFollower(loaded) : undefined
        const done = options.follow === true ? (remote ?? isEnded(id)) : Effect.succeed(true)
        if (loaded.state.spec?.maxLogBytes != null || OutputLog.isCapped(paths)) {
          // capped: the head, the marker and the latest output, read as one stream
          const now = OutputLog.readNow(paths, OutputLog.START)
          const first = options.tailLines === undefined ? now.bytes : OutputLog.lastLines(now.bytes, options.tailLines)
          const rest = options.follow === true ? OutputLog.follow(paths, { cursor: now.next, done }) : Stream.empty
          return Stream.concat(Stream.make(new Uint8Array(first)), rest)
        }
        const offset = options.tailLines === undefined ? 0 : tailOffset(paths.logPath, options.tailLines)
        return Follow.bytes(paths.logPath, {
          offset,
          done: options.follow === true ? (remote ?? isEnded(id)) : Effect.succeed(true),
          alsoWatch: [paths.eventsPath]
        })
      })
    )

  /**
   * Every job's events (new jobs included) with a cursor each; with `follow`, forever, judging liveness as it goes
   * (a vanished supervisor is recorded as Interrupted and shows up in the feed). See `Feed.stream`.
   */
  const feed = (options: Feed.Options = {}) => Feed.stream({ layout: store.layout, judge: refresh }, options)

  return {
    submit: (options: SubmitOptions) => submit(inputOf(options)),
    submitMany: (options: ReadonlyArray<SubmitOptions>) => submitMany(options.map(inputOf)),
    submitInput: submit,
    submitManyInput: submitMany,
    get,
    resolve,
    refresh,
    list,
    summary,
    stop,
    stopMany,
    unfinished,
    wait,
    retry,
    remove,
    clean,
    isRemote,
    events,
    feed,
    output
  } as const
})

/** The byte offset where the last `lines` lines of a file start (reads backwards, a block at a time). */
export const tailOffset = (path: string, lines: number): number => {
  let fd: number | undefined
  try {
    fd = RegularFile.openSync(path)
  } catch {
    // not a regular file: the follower that reads from here says so
    return 0
  }
  if (fd === undefined) return 0
  try {
    const size = Fs.fstatSync(fd).size
    if (lines <= 0) return size
    const block = Buffer.allocUnsafe(64 * 1024)
    let pos = size
    let seen = 0
    // a final newline ends the last line rather than starting an empty one
    let skipLast = true
    while (pos > 0) {
      const start = Math.max(0, pos - block.length)
      const n = Fs.readSync(fd, block, 0, pos - start, start)
      for (let i = n - 1; i >= 0; i--) {
        if (block[i] !== 10) {
          skipLast = false
          continue
        }
        if (skipLast) {
          skipLast = false
          continue
        }
        if (++seen === lines) return start + i + 1
      }
      pos = start
    }
    return 0
  } finally {
    Fs.closeSync(fd)
  }
}

/**
 * The Jobs service's tag.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const jobs = yield* Jobs
 *   const { job } = yield* jobs.submit({ command: ["echo", "hi"], cwd: process.cwd() })
 *   yield* jobs.wait(job.id)
 * })
 */
export const Jobs: Context.Tag<Jobs, Jobs> = Context.GenericTag<Jobs>("jobs/Jobs")

/** The tag of the service with its internals, for the project's own surfaces. */
export const Internal: Context.Tag<Internal, Internal> = Context.GenericTag<Internal>("jobs/JobsInternal")

/** Both tags over a JobStore and Executors (one service). */
export const layer: Layer.Layer<Jobs | Internal, never, JobStore | Executors> = Layer.effectContext(
  Effect.map(make, (service) => Context.make(Internal, service).pipe(Context.add(Jobs, service)))
)
