// The Jobs service: submit, read, list, stop, wait, retry, remove, clean, and Streams of events and output.
// The CLI, the dashboard and Effect apps all go through it.

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { type Event, EventLog, Follow } from "../events/mod.ts"
import {
  AmbiguousReference,
  InvalidInput,
  JobNotFound,
  JobStateConflict,
  type StartFailed,
  type StorageError
} from "./errors.ts"
import { Executors } from "./executor.ts"
import * as Ids from "./ids.ts"
import * as JobState from "./job_state.ts"
import { JobStore, type Loaded } from "./job_store.ts"
import * as Project from "./project.ts"
import * as Reference from "./reference.ts"

/** What a caller asks to run. */
export interface SubmitInput {
  /** The argv, run without a shell. */
  readonly command: ReadonlyArray<string>
  readonly cwd: string
  /** The job's whole environment (values go to the 0600 env file only). */
  readonly env: Readonly<Record<string, string>>
  readonly name?: string | null | undefined
  readonly timeoutSecs?: number | null | undefined
  readonly graceSecs?: number | undefined
  readonly key?: string | null | undefined
  readonly retryOf?: string | null | undefined
  readonly executor?: string | undefined
}

/** A submitted job, and whether it existed already (an idempotency key that was used before). */
export interface Submission {
  readonly job: JobState.JobObject
  readonly existing: boolean
}

export interface ListOptions {
  /** Only jobs of this project; undefined for every project. */
  readonly project?: string | undefined
  readonly statuses?: ReadonlyArray<JobState.Status> | undefined
  /** Newest first, at most this many (0 or undefined: all). */
  readonly limit?: number | undefined
}

/** The grace between TERM and KILL when nothing else is said. */
export const DEFAULT_GRACE_SECS = 10

const now = () => new Date().toISOString()
const eventId = () => Ids.make()

/** Builds the service over a store and the executors. */
export const make = Effect.gen(function* () {
  const store = yield* JobStore
  const executors = yield* Executors
  const reported = new Set<string>()

  const executorFor = (kind: string) => {
    const executor = executors.get(kind)
    return executor === undefined
      ? Effect.fail(
          new InvalidInput({ message: `Cannot use executor "${kind}": this build knows ${executors.kinds.join(", ")}` })
        )
      : Effect.succeed(executor)
  }

  const warnSkipped = (loaded: Loaded) =>
    loaded.skipped > 0 && !reported.has(loaded.state.id)
      ? Effect.sync(() => reported.add(loaded.state.id)).pipe(
          Effect.zipRight(
            Effect.logWarning(`skipped ${loaded.skipped} undecodable line(s) in ${loaded.paths.eventsPath}`)
          )
        )
      : Effect.void

  const toObject = (loaded: Loaded) => JobState.toObject(loaded.state, loaded.paths)

  /**
   * Re-reads a job and settles what the log cannot know by itself: a running job whose supervisor is gone
   * becomes interrupted, recorded once by whoever notices first.
   */
  const refresh = (id: string): Effect.Effect<Loaded> =>
    Effect.gen(function* () {
      const loaded = yield* store.read(id)
      yield* warnSkipped(loaded)
      if (loaded.state.status !== "running") return loaded
      const executor = executors.get(loaded.state.spec?.executor ?? "local")
      if (executor === undefined) return loaded
      const liveness = yield* executor.liveness(loaded.state)
      if (liveness === "alive") return loaded
      if (liveness === "unknown") return { ...loaded, state: { ...loaded.state, status: "unknown" as const } }
      // the supervisor may have written Exited between our read and the check: read again before judging
      const again = yield* store.read(id)
      if (again.state.status !== "running") return again
      const started = again.state.started
      const reason =
        started !== null && started.bootId !== currentBootId()
          ? "the host rebooted while the job ran"
          : `the supervisor (pid ${started?.supervisorPid ?? "?"}) is gone without recording an exit`
      yield* store
        .append(id, { type: "Interrupted", v: 1, id: eventId(), job: id, at: now(), reason })
        .pipe(Effect.ignore)
      return yield* store.read(id)
    })

  const resolve = (reference: string) =>
    Effect.gen(function* () {
      const ids = yield* store.ids
      const resolution = Reference.resolve(reference, ids, () => ids.map((id) => ({ id, name: store.nameOf(id) })))
      switch (resolution._tag) {
        case "Found":
          return resolution.id
        case "NotFound":
          return yield* new JobNotFound({ reference })
        case "Ambiguous":
          return yield* new AmbiguousReference({
            reference,
            candidates: resolution.candidates.map((id) => {
              const name = store.nameOf(id)
              return name === null ? Ids.shortId(id) : `${Ids.shortId(id)} (${name})`
            })
          })
      }
    })

  /** The job a reference names, freshly settled. */
  const get = (reference: string) => Effect.flatMap(resolve(reference), refresh).pipe(Effect.map(toObject))

  const validate = (input: SubmitInput) =>
    Effect.gen(function* () {
      if (input.command.length === 0 || input.command[0] === "") {
        return yield* new InvalidInput({
          message: "Cannot run job: the command is empty (usage: jobs run -- CMD [ARGS...])"
        })
      }
      if (input.name !== undefined && input.name !== null) {
        if (input.name.trim() === "" || /[\n\r\0]/.test(input.name) || input.name.length > 200) {
          return yield* new InvalidInput({
            message: `Cannot use name "${input.name}": a name is one line of 1 to 200 characters`
          })
        }
      }
      let isDir = false
      try {
        isDir = Fs.statSync(input.cwd).isDirectory()
      } catch {
        isDir = false
      }
      if (!isDir) return yield* new InvalidInput({ message: `Cannot run job in "${input.cwd}": not a directory` })
      if (input.timeoutSecs !== undefined && input.timeoutSecs !== null && !(input.timeoutSecs > 0)) {
        return yield* new InvalidInput({ message: `Cannot use timeout "${input.timeoutSecs}": it must be above zero` })
      }
    })

  /** Waits (briefly) for the job that won a key to have its Submitted event; undefined if it never appears. */
  const awaitSubmitted = (id: string) =>
    Effect.gen(function* () {
      for (let i = 0; i < 100; i++) {
        const loaded = yield* store.read(id)
        if (loaded.state.spec !== null) return loaded
        yield* Effect.sleep("50 millis")
      }
      return undefined
    })

  const submit = (input: SubmitInput): Effect.Effect<Submission, InvalidInput | StorageError | StartFailed> =>
    Effect.gen(function* () {
      yield* validate(input)
      yield* store.ensure
      const kind = input.executor ?? "local"
      const executor = yield* executorFor(kind)
      const id = Ids.make()
      const key = input.key ?? null
      if (key !== null) {
        for (let attempt = 0; ; attempt++) {
          const owner = yield* store.claimKey(key, id)
          if (owner === id) break
          const existing = yield* awaitSubmitted(owner)
          if (existing !== undefined) return { job: toObject(yield* refresh(owner)), existing: true }
          // the key names a job that never came to be (its submitter died): free it and claim again
          if (attempt > 0) {
            return yield* new InvalidInput({ message: `Cannot claim key "${key}": it stays held by job "${owner}"` })
          }
          yield* store.releaseKey(key, owner)
        }
      }
      const spec: Event.JobSpec = {
        command: [...input.command],
        name: input.name ?? null,
        cwd: input.cwd,
        project: Project.detect(input.cwd),
        executor: kind,
        worker: null,
        timeoutSecs: input.timeoutSecs ?? null,
        graceSecs: input.graceSecs ?? DEFAULT_GRACE_SECS,
        key,
        retryOf: input.retryOf ?? null
      }
      const submitted = { type: "Submitted" as const, v: 1, id: eventId(), job: id, at: now(), spec }
      const paths = yield* store
        .create(submitted, input.env)
        .pipe(Effect.tapError(() => (key === null ? Effect.void : store.releaseKey(key, id).pipe(Effect.ignore))))
      yield* executor
        .start({ id, spec, paths, layout: store.layout })
        .pipe(
          Effect.tapError((e) =>
            store
              .append(id, { type: "Interrupted", v: 1, id: eventId(), job: id, at: now(), reason: e.why })
              .pipe(Effect.ignore)
          )
        )
      return { job: toObject(store.load(id)), existing: false }
    })

  const list = (options: ListOptions = {}) =>
    Effect.gen(function* () {
      const ids = yield* store.ids
      const limit = options.limit !== undefined && options.limit > 0 ? options.limit : Number.POSITIVE_INFINITY
      const out: Array<JobState.JobObject> = []
      for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) {
        let loaded = store.load(ids[i]!)
        if (options.project !== undefined && loaded.state.spec?.project !== options.project) continue
        if (loaded.state.status === "running") loaded = yield* refresh(ids[i]!)
        else yield* warnSkipped(loaded)
        if (options.statuses !== undefined && !options.statuses.includes(loaded.state.status)) continue
        out.push(toObject(loaded))
      }
      return out
    })

  const summary = Effect.gen(function* () {
    const ids = yield* store.ids
    const counts = Object.fromEntries(JobState.STATUSES.map((s) => [s, 0])) as Record<JobState.Status, number>
    for (const id of ids) {
      let loaded = store.load(id)
      if (loaded.state.status === "running") loaded = yield* refresh(id)
      counts[loaded.state.status]++
    }
    return { home: store.home, total: ids.length, counts }
  })

  /**
   * Stops a job: records the request, signals the supervisor (which sends `signal` to the whole process group,
   * then KILL after the grace period), and waits until the job has ended. Stopping an ended job changes nothing.
   */
  const stop = (reference: string, options: { readonly signal?: string; readonly graceSecs?: number } = {}) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      const loaded = yield* refresh(id)
      if (JobState.isTerminal(loaded.state.status)) return { job: toObject(loaded), alreadyEnded: true }
      const signal = JobState.signalName(options.signal ?? "TERM")
      if (signal === undefined) {
        return yield* new InvalidInput({ message: `Cannot send signal "${options.signal}": unknown signal` })
      }
      const graceSecs = options.graceSecs ?? loaded.state.spec?.graceSecs ?? DEFAULT_GRACE_SECS
      const executor = yield* executorFor(loaded.state.spec?.executor ?? "local")
      if (!loaded.state.stopRequested) {
        // the event first: a supervisor that sees the request before starting records Exited after it
        yield* store.append(id, { type: "StopRequested", v: 1, id: eventId(), job: id, at: now(), signal, graceSecs })
        yield* store.writeStopRequest(id, signal, graceSecs)
      }
      const deadline = Date.now() + (graceSecs + 10) * 1000
      let signalled = false
      let current = loaded
      while (Date.now() < deadline) {
        current = yield* refresh(id)
        if (JobState.isTerminal(current.state.status)) break
        if (current.state.status === "running" && !signalled) {
          yield* executor.requestStop(current.state)
          signalled = true
        }
        yield* Effect.sleep("25 millis")
      }
      return { job: toObject(current), alreadyEnded: false }
    })

  /** Waits until the job has ended; None when `timeoutSecs` passed first. */
  const wait = (reference: string, options: { readonly timeoutSecs?: number | undefined } = {}) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      const paths = store.paths(id)
      const untilEnded = Effect.scoped(
        Effect.gen(function* () {
          const ticks = yield* Follow.changes([paths.eventsPath])
          for (;;) {
            const loaded = yield* refresh(id)
            if (JobState.isTerminal(loaded.state.status)) return toObject(loaded)
            yield* Follow.nextChange(ticks)
          }
        })
      )
      return options.timeoutSecs === undefined
        ? Option.some(yield* untilEnded)
        : yield* Effect.timeoutOption(untilEnded, `${options.timeoutSecs} seconds`)
    })

  /** Runs a job again: same spec and environment, a new id, linked by `retryOf`. */
  const retry = (reference: string) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      const loaded = yield* refresh(id)
      const spec = loaded.state.spec
      if (spec === null) {
        return yield* new JobStateConflict({
          message: `Cannot retry job "${Ids.shortId(id)}": its log has no Submitted event`
        })
      }
      const env = yield* store.readEnv(id)
      return yield* submit({
        command: spec.command,
        cwd: spec.cwd,
        env,
        name: spec.name,
        timeoutSecs: spec.timeoutSecs,
        graceSecs: spec.graceSecs,
        retryOf: id,
        executor: spec.executor
      })
    })

  const removeLoaded = (loaded: Loaded) =>
    Effect.gen(function* () {
      const key = loaded.state.spec?.key ?? null
      if (key !== null) yield* store.releaseKey(key, loaded.state.id)
      yield* store.remove(loaded.state.id)
    })

  /** Deletes a job's folder (and frees its key). A job that still runs is refused unless `force`, which kills it. */
  const remove = (reference: string, options: { readonly force?: boolean } = {}) =>
    Effect.gen(function* () {
      const id = yield* resolve(reference)
      let loaded = yield* refresh(id)
      if (!JobState.isTerminal(loaded.state.status)) {
        if (options.force !== true) {
          return yield* new JobStateConflict({
            message: `Cannot remove job "${Ids.shortId(id)}": it is ${loaded.state.status} (stop it first, or use --force)`
          })
        }
        yield* stop(id, { signal: "SIGKILL", graceSecs: 0 })
        loaded = yield* refresh(id)
      }
      yield* removeLoaded(loaded)
      return toObject(loaded)
    })

  /** Removes ended jobs, optionally only those that ended before `olderThanSecs` ago or have given statuses. */
  const clean = (options: ListOptions & { readonly olderThanSecs?: number | undefined } = {}) =>
    Effect.gen(function* () {
      const ids = yield* store.ids
      const cutoff = Date.now() - (options.olderThanSecs ?? 0) * 1000
      const removed: Array<JobState.JobObject> = []
      for (const id of ids) {
        const loaded = yield* refresh(id)
        const state = loaded.state
        if (!JobState.isTerminal(state.status)) continue
        if (options.project !== undefined && state.spec?.project !== options.project) continue
        if (options.statuses !== undefined && !options.statuses.includes(state.status)) continue
        const ended = Date.parse(state.finishedAt ?? state.createdAt ?? "") || Ids.time(id)
        if (ended > cutoff) continue
        yield* removeLoaded(loaded)
        removed.push(toObject(loaded))
      }
      return removed
    })

  const isEnded = (id: string) => Effect.map(refresh(id), (l) => JobState.isTerminal(l.state.status))

  /** A job's events; with `follow`, goes on until the job has ended. */
  const events = (reference: string, options: { readonly follow?: boolean } = {}) =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const id = yield* resolve(reference)
        const loaded = yield* refresh(id)
        const path = loaded.paths.eventsPath
        if (options.follow !== true) return Stream.fromIterable(EventLog.replaySync(path).events)
        // a watcher of liveness: a supervisor that vanishes is recorded as Interrupted, which ends the stream
        yield* Effect.forkScoped(Effect.repeat(refresh(id), Schedule.spaced("1 second")))
        return Follow.events(path).pipe(Stream.takeUntil((e) => e.type === "Exited" || e.type === "Interrupted"))
      })
    )

  /** A job's output from the start (or the last `tailLines` lines); with `follow`, until the job has ended. */
  const output = (reference: string, options: { readonly follow?: boolean; readonly tailLines?: number } = {}) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const id = yield* resolve(reference)
        const paths = store.paths(id)
        const offset = options.tailLines === undefined ? 0 : tailOffset(paths.logPath, options.tailLines)
        return Follow.bytes(paths.logPath, {
          offset,
          done: options.follow === true ? isEnded(id) : Effect.succeed(true),
          alsoWatch: [paths.eventsPath]
        })
      })
    )

  return { submit, get, resolve, refresh, list, summary, stop, wait, retry, remove, clean, events, output } as const
})

let bootId: string | undefined
const currentBootId = (): string => {
  if (bootId === undefined) {
    try {
      bootId = Fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    } catch {
      bootId = Os.hostname()
    }
  }
  return bootId
}

/** The byte offset where the last `lines` lines of a file start (reads backwards, a block at a time). */
export const tailOffset = (path: string, lines: number): number => {
  let fd: number
  try {
    fd = Fs.openSync(path, "r")
  } catch {
    return 0
  }
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

/** The Jobs service. */
export class Jobs extends Context.Tag("jobs/Jobs")<Jobs, Effect.Effect.Success<typeof make>>() {}

/**
 * The Jobs service over a JobStore and Executors.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const jobs = yield* Jobs
 *   const { job } = yield* jobs.submit({ command: ["echo", "hi"], cwd: process.cwd(), env: {} })
 *   yield* jobs.wait(job.id)
 * })
 */
export const layer: Layer.Layer<Jobs, never, JobStore | Executors> = Layer.effect(Jobs, make)
