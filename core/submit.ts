// Submitting a job and settling what its log cannot know by itself (a vanished supervisor). Kept apart from the
// rest of the Jobs service so that `jobs run` loads no Stream, no file watcher: start-up is a feature.

import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import type { Event } from "../events/mod.ts"
import * as Config from "./config.ts"
import * as Cwd from "./cwd.ts"
import * as EnvFile from "./env_file.ts"
import { DamagedJob, InvalidInput, type StartFailed, type StorageError, type Unavailable } from "./errors.ts"
import type { Executor, Executors, Launch } from "./executor.ts"
import * as Groups from "./groups.ts"
import * as Ids from "./ids.ts"
import * as JobState from "./job_state.ts"
import type { Loaded } from "./job_store.ts"
import * as JobStore from "./job_store.ts"
import * as Process from "./process.ts"
import * as Progress from "./progress.ts"
import * as Project from "./project.ts"
import * as Reference from "./reference.ts"
import * as Umask from "./umask.ts"

/** The time of an event, ISO-8601 UTC. */
export const now = () => new Date().toISOString()
/** A new event id. */
export const eventId = () => Ids.make()

/** What a caller asks to run. */
export interface SubmitInput {
  /** The argv, run without a shell. */
  readonly command: ReadonlyArray<string>
  /** The directory to run in: absolute, or relative to `relativeTo` (without it, a relative one is refused). */
  readonly cwd: string
  /** The directory a relative `cwd` is taken from (the CLI gives its own). */
  readonly relativeTo?: string | undefined
  /** The umask the command runs under, such as "0022" (default: this process's). */
  readonly umask?: string | undefined
  /** The job's whole environment (values go to the 0600 env file only). */
  readonly env: Readonly<Record<string, string>>
  readonly name?: string | null | undefined
  readonly timeoutSecs?: number | null | undefined
  readonly graceSecs?: number | undefined
  readonly key?: string | null | undefined
  readonly retryOf?: string | null | undefined
  readonly executor?: string | undefined
  /** A regex with named groups `done` and `total` (and `message`) that finds progress in the output. */
  readonly progressPattern?: string | null | undefined
  /** The worker (ssh executor); null for the default worker. */
  readonly worker?: string | null | undefined
  /** Push the cwd to the worker first (default true). */
  readonly sync?: boolean | undefined
  /** A GPU job's instance, bootstrap and downloads (executor gpu). */
  readonly gpu?: Event.GpuSpec | undefined
  /** Hears how a long push goes (a line to show), and null when it is over. Not part of the job. */
  readonly onProgress?: ((text: string | null) => void) | undefined
  /** output.log keeps at most this many bytes (default: max_log_size in config.yaml). */
  readonly maxLogBytes?: number | null | undefined
  /** A shell command run when the job has ended (its failure never changes the job's status). */
  readonly onDone?: string | null | undefined
  /** The queue group: the job waits for a free slot of it (see `jobs group set NAME --parallel N`). */
  readonly group?: string | null | undefined
  /** Higher starts first within a group (default 0). */
  readonly priority?: number | undefined
  /** References of jobs to wait for; `any`: start whatever their result, else only if all completed. */
  readonly after?: { readonly jobs: ReadonlyArray<string>; readonly any: boolean } | null | undefined
  /** What to ask sbatch for (executor slurm). */
  readonly slurm?: Event.SlurmSpec | null | undefined
}

/** A submitted job, and whether it existed already (an idempotency key that was used before). */
export interface Submission {
  readonly job: JobState.JobObject
  readonly existing: boolean
}

/** The grace between TERM and KILL when nothing else is said. */
export const DEFAULT_GRACE_SECS = 10

/** The spec a submit records, from what the caller asked and the home's settings. */
const specOf = (
  input: SubmitInput,
  executor: string,
  key: string | null,
  after: Event.JobSpec["after"],
  config: Config.Config
): Event.JobSpec => ({
  command: [...input.command],
  name: input.name ?? null,
  cwd: input.cwd,
  project: Project.detect(input.cwd),
  executor,
  worker: input.worker ?? null,
  timeoutSecs: input.timeoutSecs ?? null,
  graceSecs: input.graceSecs ?? DEFAULT_GRACE_SECS,
  key,
  retryOf: input.retryOf ?? null,
  progressPattern: input.progressPattern ?? null,
  group: input.group ?? null,
  priority: input.priority ?? 0,
  after: after ?? null,
  onDone: input.onDone ?? null,
  maxLogBytes: input.maxLogBytes ?? config.maxLogBytes,
  ...(input.gpu === undefined ? {} : { gpu: input.gpu }),
  // only a Slurm job's spec has the field, so every other log stays as it was
  ...(input.slurm === undefined || input.slurm === null ? {} : { slurm: input.slurm }),
  ...(input.umask === undefined ? {} : { umask: input.umask })
})

/** What makes a request other than the one a job was submitted with (its command, cwd, executor or worker). */
const differs = (spec: Event.JobSpec, input: SubmitInput, kind: string): string | undefined => {
  if (JSON.stringify(spec.command) !== JSON.stringify(input.command))
    return `another command (${JSON.stringify(spec.command)})`
  if (spec.cwd !== input.cwd) return `in another cwd (${spec.cwd})`
  if (spec.executor !== kind) return `with another executor (${spec.executor})`
  if ((spec.worker ?? null) !== (input.worker ?? null)) return `on another worker (${spec.worker})`
  return undefined
}

/** The files beside the log that the supervisor sources: the queue, the completion hooks, the output limit. */
const supervisorFiles = (
  spec: Event.JobSpec,
  after: Event.JobSpec["after"],
  config: Config.Config
): Array<readonly [string, string]> => {
  const files: Array<readonly [string, string]> = []
  if ((spec.group ?? null) !== null || (after ?? null) !== null) {
    files.push(JobStore.queueFile(spec.group ?? null, spec.priority ?? 0, after ?? null))
  }
  if ((spec.onDone ?? null) !== null || config.onDone !== null) {
    files.push(JobStore.hooksFile(spec.name, spec.onDone ?? null, config.onDone))
  }
  if (spec.maxLogBytes !== null && spec.maxLogBytes !== undefined) files.push(JobStore.limitsFile(spec.maxLogBytes))
  return files
}

/** The first event of a job: its spec, and who submitted it (so that a submit killed half-way can be judged). */
const submittedOf = (job: string, spec: Event.JobSpec) => ({
  type: "Submitted" as const,
  v: 1 as const,
  id: eventId(),
  job,
  at: now(),
  spec,
  submitter: Process.self()
})

/** How long past a job's deadline its own watcher has to act before a reader carries the timeout out instead. */
const DEADLINE_SLACK_SECS = 2

/**
 * Creates a marker file naming this process (O_EXCL: one claimant). "busy" when a live process holds it, "done" when
 * its work is over; a marker whose holder died before it was done is taken over.
 */
const claimMarker = (path: string): "claimed" | "busy" | "done" => {
  const me = Process.self()
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Fs.writeFileSync(path, `${me.pid} ${me.startTime} ${me.bootId}\n`, { flag: "wx", mode: 0o600 })
      return "claimed"
    } catch {
      let text = ""
      try {
        text = Fs.readFileSync(path, "utf8").trim()
      } catch {
        continue
      }
      if (text === "done") return "done"
      // created this instant, its holder not written yet
      if (text === "") return "busy"
      const [pid, start, boot] = text.split(" ")
      if (Process.isAlive({ pid: Number(pid), startTime: Number(start), bootId: boot ?? "" })) return "busy"
      Fs.rmSync(path, { force: true })
    }
  }
  return "busy"
}

/** Submit and settle over a store and the executors. */
export const make = (store: JobStore.JobStore["Type"], executors: Executors["Type"]) => {
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
    (loaded.skipped > 0 || loaded.newer > 0) && !reported.has(loaded.state.id)
      ? Effect.sync(() => reported.add(loaded.state.id)).pipe(
          Effect.zipRight(
            Effect.logWarning(
              loaded.newer > 0
                ? `job ${Ids.shortId(loaded.state.id)} has events of a newer jobs version (v${loaded.newer}); upgrade jobs to read them`
                : `skipped ${loaded.skipped} undecodable line(s) in ${loaded.paths.eventsPath}`
            )
          )
        )
      : Effect.void

  /** One warning per damaged folder and process: "skipped ID: cannot read events.jsonl: not a regular file". */
  const warnDamaged = (loaded: Loaded) =>
    loaded.damaged !== null && !reported.has(`damaged ${loaded.state.id}`)
      ? Effect.sync(() => reported.add(`damaged ${loaded.state.id}`)).pipe(
          Effect.zipRight(Effect.logWarning(`skipped ${loaded.state.id}: ${loaded.damaged}`))
        )
      : Effect.void

  /** A job that can be shown, or DamagedJob. */
  const readable = (loaded: Loaded): Effect.Effect<Loaded, DamagedJob> =>
    loaded.damaged === null
      ? Effect.succeed(loaded)
      : Effect.fail(new DamagedJob({ id: loaded.state.id, reason: loaded.damaged }))

  /** The job object, with the progress its log recorded or, while it runs, what its files say now. */
  const toObject = (loaded: Loaded) => {
    const { state } = loaded
    const found = state.progress ?? Progress.read(loaded.paths, state.spec)
    const group = state.spec?.group ?? null
    const position =
      state.status === "pending" && group !== null ? Groups.position(store.layout, group, state.id) : null
    return JobState.toObject(state, loaded.paths, found === undefined ? null : Progress.view(found, state), position)
  }

  /** An ended job's last progress goes into its log once, so it outlives the files it was read from. */
  const recordProgress = (loaded: Loaded): Effect.Effect<Loaded> => {
    if (loaded.damaged !== null || !JobState.isTerminal(loaded.state.status) || loaded.state.progress !== null) {
      return Effect.succeed(loaded)
    }
    const found = Progress.read(loaded.paths, loaded.state.spec)
    if (found === undefined) return Effect.succeed(loaded)
    const { done, total, message, source } = found
    const id = loaded.state.id
    return store
      .append(id, {
        type: "ProgressRecorded",
        v: 1,
        id: `${id}.progress`,
        job: id,
        at: now(),
        progress: { done, total, message, source }
      })
      .pipe(
        Effect.zipRight(store.read(id)),
        Effect.orElseSucceed(() => loaded)
      )
  }

  /**
   * Re-reads a job and settles what the log cannot know by itself: a running job whose supervisor is gone
   * becomes interrupted, recorded once by whoever notices first; an ended job's progress is recorded.
   */
  const refresh = (id: string): Effect.Effect<Loaded> => Effect.flatMap(settle(id), recordProgress)

  /**
   * Carries out the timeout of a job whose supervisor is gone (and with it the watcher that would have): once its
   * deadline (Started plus the timeout, and a moment for a live watcher to act first) has passed and what is left of
   * its command still runs (its process group holding a process of the job: never a bare pid), TimedOut is recorded
   * and the executor stops it (TERM, the grace, KILL). One reader does it: a marker in the job's folder names it
   * while it works, and says "done" after. Returns "busy" while another reader is at it.
   */
  const enforceDeadline = (loaded: Loaded, executor: Executor): Effect.Effect<"busy" | "stopped" | "none"> =>
    Effect.gen(function* () {
      const state = loaded.state
      const timeout = state.spec?.timeoutSecs ?? null
      if (timeout === null || state.started === null) return "none"
      if (!(Date.now() > Date.parse(state.started.at) + (timeout + DEADLINE_SLACK_SECS) * 1000)) return "none"
      const marker = Path.join(loaded.paths.dir, ".deadline")
      const claimed = claimMarker(marker)
      if (claimed !== "claimed") return claimed === "busy" ? "busy" : "none"
      let stopped = false
      const running = executor.orphans === undefined ? "alive" : yield* executor.orphans(state)
      if (running === "alive") {
        if (!state.timedOut) {
          yield* store
            .append(state.id, { type: "TimedOut", v: 1, id: eventId(), job: state.id, at: now(), timeoutSecs: timeout })
            .pipe(Effect.ignore)
        }
        stopped = yield* executor.stopOrphans(state, "SIGTERM", state.spec?.graceSecs ?? DEFAULT_GRACE_SECS)
      }
      // once: a worker that could not be reached is not asked again by every later reader (`jobs stop` still can)
      try {
        Fs.writeFileSync(marker, "done\n")
      } catch {
        // the folder is being removed
      }
      return stopped ? "stopped" : "none"
    })

  const settle = (id: string): Effect.Effect<Loaded> =>
    Effect.gen(function* () {
      const loaded = yield* store.read(id)
      yield* warnSkipped(loaded)
      if (loaded.damaged !== null) return loaded
      // a newer jobs wrote to this log: what it says cannot be told here, and nothing is judged or recorded from it
      if (loaded.newer > 0) {
        const reason = `its log has events of a newer jobs version (v${loaded.newer}): upgrade jobs`
        return { ...loaded, state: { ...loaded.state, status: "unknown" as const, reason } }
      }
      const executor = executors.get(loaded.state.spec?.executor ?? "local")
      if (JobState.isTerminal(loaded.state.status)) {
        // a job recorded as interrupted before its deadline: what its command left is held to that deadline
        if (executor === undefined || !JobState.vanished(loaded.state) || loaded.state.spec?.timeoutSecs == null) {
          return loaded
        }
        return (yield* enforceDeadline(loaded, executor)) === "stopped" ? yield* store.read(id) : loaded
      }
      if (executor === undefined) return loaded
      if (executor.observe !== undefined) {
        // a job behind a scheduler: it says whether the job waits (and why), runs, or ended without a word
        const seen = yield* executor.observe(loaded.state, loaded.paths)
        const observed = yield* store.read(id)
        if (JobState.isTerminal(observed.state.status)) return observed
        if (seen.liveness === "unknown")
          return { ...observed, state: { ...observed.state, status: "unknown" as const } }
        return seen.reason === null ? observed : { ...observed, state: { ...observed.state, reason: seen.reason } }
      }
      if (executor.mirror !== undefined) {
        // a remote job: bring its events and output home first, then judge from what they say
        const remote = yield* executor.mirror(loaded.state, loaded.paths)
        const mirrored = yield* store.read(id)
        if (JobState.isTerminal(mirrored.state.status)) return mirrored
        const unknown = { ...mirrored, state: { ...mirrored.state, status: "unknown" as const } }
        if (mirrored.state.started === null && mirrored.state.queued === null) {
          // nothing on the worker has taken it up: whether anything still may (its submitter or keeper, a push on
          // its way, a supervisor just launched there), else it is judged below as never started
          const may = yield* executor.liveness(mirrored.state)
          if (may === "alive") return mirrored
          if (may === "unknown") return unknown
        } else {
          if (remote === "alive") return mirrored
          // a queued remote job has nothing to judge by yet
          if (mirrored.state.started === null && remote === "dead") return mirrored
          if (remote === "unknown") return unknown
        }
      }
      const liveness = executor.mirror !== undefined ? ("dead" as const) : yield* executor.liveness(loaded.state)
      if (liveness === "alive") return loaded
      if (liveness === "unknown") return { ...loaded, state: { ...loaded.state, status: "unknown" as const } }
      // the supervisor may have written Exited between our read and the check: read again before judging
      const again = yield* store.read(id)
      if (JobState.isTerminal(again.state.status)) return again
      const started = again.state.started ?? again.state.queued
      // judged as never started, but its supervisor has just written its first event: it runs
      if ((loaded.state.started ?? loaded.state.queued) === null && started !== null) return again
      // its timeout is carried out now if it is overdue (the watcher that would have went with the supervisor)
      const enforced = started === null ? "none" : yield* enforceDeadline(again, executor)
      if (enforced === "busy") return again
      const submitter = again.state.submitter
      const cause =
        started === null
          ? // no supervisor ever took it up (the local executors only say so once nothing could still start it)
            submitter !== null && submitter.bootId !== Process.bootId()
            ? "never started: the host rebooted before its supervisor ran"
            : `never started: no supervisor took it up (submitted by pid ${submitter?.pid ?? "?"})`
          : started.bootId !== Process.bootId()
            ? "the host rebooted while the job ran"
            : again.state.started === null
              ? `the waiter of the queued job (pid ${started.supervisorPid}) is gone`
              : `the supervisor (pid ${started.supervisorPid}) is gone without recording an exit`
      const reason =
        enforced === "stopped"
          ? `${cause}; its timeout (${again.state.spec?.timeoutSecs}s) was carried out when the job was read`
          : cause
      yield* store
        .append(id, { type: "Interrupted", v: 1, id: eventId(), job: id, at: now(), reason })
        .pipe(Effect.ignore)
      return yield* store.read(id)
    })

  /**
   * Checks what a caller asked, and returns it with its cwd settled (absolute and real, by Cwd.resolve) and its umask
   * known. A batch passes its `cwds` and `umask`, so that what its jobs share is looked up once.
   */
  const validate = (input: SubmitInput, cwds = new Map<string, string>(), umask?: string) =>
    Effect.gen(function* () {
      if (input.command.length === 0 || input.command[0] === "") {
        return yield* new InvalidInput({
          message: "Cannot run job: the command is empty (give the program and its arguments)"
        })
      }
      if (input.name !== undefined && input.name !== null) {
        if (input.name.trim() === "" || /[\n\r\0]/.test(input.name) || input.name.length > 200) {
          return yield* new InvalidInput({
            message: `Cannot use name "${input.name}": a name is one line of 1 to 200 characters`
          })
        }
      }
      if (input.umask !== undefined && !Umask.is(input.umask)) {
        return yield* new InvalidInput({
          message: `Cannot use umask "${input.umask}": it is four octal digits, such as 0022`
        })
      }
      if (input.progressPattern !== undefined && input.progressPattern !== null) {
        let why: string | undefined
        try {
          if (!/\(\?<done>/.test(input.progressPattern)) why = "it needs a named group (?<done>...)"
          else new RegExp(input.progressPattern)
        } catch (e) {
          why = e instanceof Error ? e.message : String(e)
        }
        if (why !== undefined) {
          return yield* new InvalidInput({ message: `Cannot use progress pattern "${input.progressPattern}": ${why}` })
        }
      }
      if (input.group !== undefined && input.group !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input.group)) {
        return yield* new InvalidInput({
          message: `Cannot use group "${input.group}": a group name is 1 to 64 letters, digits, ".", "_" or "-"`
        })
      }
      if (input.priority !== undefined && !(Number.isInteger(input.priority) && Math.abs(input.priority) <= 999_999)) {
        return yield* new InvalidInput({
          message: `Cannot use priority "${input.priority}": it is a whole number from -999999 to 999999`
        })
      }
      if (input.timeoutSecs !== undefined && input.timeoutSecs !== null && !(input.timeoutSecs > 0)) {
        return yield* new InvalidInput({ message: `Cannot use timeout "${input.timeoutSecs}": it must be above zero` })
      }
      const asked = `${input.relativeTo ?? ""}\0${input.cwd}`
      const cwd = cwds.get(asked) ?? (yield* Cwd.resolve(input.cwd, input.relativeTo))
      cwds.set(asked, cwd)
      return { ...input, cwd, relativeTo: undefined, umask: input.umask ?? umask ?? Umask.current() }
    })

  /**
   * Waits (briefly) for the job that won a key to have its Submitted event; undefined if it never appears. When the
   * claimant is known and provably gone (pid plus start time), the answer is known at once.
   */
  const awaitSubmitted = (id: string, claimant: Process.Identity | null) =>
    Effect.gen(function* () {
      for (let i = 0; i < 100; i++) {
        const gone = claimant !== null && !Process.isAlive(claimant)
        // read after the liveness check: a folder made just before the claimant died is seen
        const loaded = yield* store.read(id)
        if (loaded.state.spec !== null) return loaded
        if (gone) return undefined
        yield* Effect.sleep("50 millis")
      }
      return undefined
    })

  /** The ids of the jobs named by --after: each must name exactly one existing job. */
  const resolveAfter = (after: SubmitInput["after"]) =>
    Effect.gen(function* () {
      if (after === undefined || after === null || after.jobs.length === 0) return null
      const ids = yield* store.ids
      const resolved: Array<string> = []
      for (const reference of after.jobs) {
        const r = Reference.resolve(reference, ids, () => ids.map((id) => ({ id, name: store.nameOf(id) })))
        if (r._tag !== "Found") {
          const why = r._tag === "NotFound" ? "no such job" : `it matches ${r.candidates.length} jobs`
          return yield* new InvalidInput({ message: `Cannot run after job "${reference}": ${why}` })
        }
        resolved.push(r.id)
      }
      return { jobs: resolved, any: after.any }
    })

  const submit = (
    asked: SubmitInput
  ): Effect.Effect<Submission, InvalidInput | StorageError | StartFailed | Unavailable> =>
    Effect.gen(function* () {
      const input = yield* validate(asked)
      const kind = input.executor ?? "local"
      const executor = yield* executorFor(kind)
      const config = yield* Config.load(store.layout)
      // before anything is written: an executor whose tools are missing leaves no job behind
      if (executor.check !== undefined) {
        yield* executor.check(specOf(input, kind, null, null, config), store.layout, input.env)
      }
      yield* store.ensure
      const after = yield* resolveAfter(input.after)
      const id = Ids.make()
      const key = input.key ?? null
      if (key !== null) {
        for (let attempt = 0; ; attempt++) {
          const { owner, claimant } = yield* store.claimKey(key, id, Process.self())
          if (owner === id) break
          const existing = yield* awaitSubmitted(owner, claimant)
          if (existing !== undefined) {
            // a key is one request: reused for another one, it would silently hand back a job that is not this
            const other = differs(existing.state.spec!, input, kind)
            if (other !== undefined) {
              return yield* new InvalidInput({
                message: `Cannot reuse key "${key}": it names job ${Ids.shortId(owner)}, which runs ${other} (use another key)`
              })
            }
            return { job: toObject(yield* refresh(owner)), existing: true }
          }
          // the key names a job that never came to be (its submitter died): free it and claim again
          if (attempt > 0) {
            return yield* new InvalidInput({ message: `Cannot claim key "${key}": it stays held by job "${owner}"` })
          }
          yield* store.releaseKey(key, owner)
        }
      }
      const spec = specOf(input, kind, key, after, config)
      const submitted = submittedOf(id, spec)
      const paths = yield* store
        .create(submitted, input.env, { files: supervisorFiles(spec, after, config) })
        .pipe(Effect.tapError(() => (key === null ? Effect.void : store.releaseKey(key, id).pipe(Effect.ignore))))
      Process.testPause("submitted")
      yield* executor
        .start({
          id,
          spec,
          paths,
          layout: store.layout,
          ...(input.sync === false ? { sync: false } : {}),
          ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress })
        })
        .pipe(
          Effect.tapError((e) =>
            store
              .append(id, { type: "FailedToStart", v: 1, id: eventId(), job: id, at: now(), reason: e.why })
              .pipe(Effect.ignore)
          )
        )
      return { job: toObject(store.load(id)), existing: false }
    })

  /**
   * Submits many jobs in one go (`jobs run --each`): all are checked before anything is written, their logs are
   * written and then fsynced together (one journal commit instead of one per job), and the executor starts them
   * together when it can. Idempotency keys are per job and have no place here.
   */
  const submitMany = (
    asked: ReadonlyArray<SubmitInput>
  ): Effect.Effect<ReadonlyArray<Submission>, InvalidInput | StorageError | StartFailed | Unavailable> =>
    Effect.gen(function* () {
      if (asked.length === 0) return []
      const cwds = new Map<string, string>()
      const umask = Umask.current()
      const inputs: Array<SubmitInput> = []
      for (const one of asked) {
        const input = yield* validate(one, cwds, umask)
        inputs.push(input)
        if (input.key !== undefined && input.key !== null) {
          return yield* new InvalidInput({
            message: "Cannot submit a batch with an idempotency key: a key names one job"
          })
        }
      }
      const first = inputs[0]!
      const kind = first.executor ?? "local"
      const executor = yield* executorFor(kind)
      const config = yield* Config.load(store.layout)
      if (executor.check !== undefined) {
        // a batch shares its flags: each program, cwd and PATH is checked once
        const checked = new Set<string>()
        for (const input of inputs) {
          const what = `${input.command[0]}\0${input.cwd}\0${input.env.PATH ?? ""}`
          if (checked.has(what)) continue
          checked.add(what)
          yield* executor.check(specOf(input, kind, null, null, config), store.layout, input.env)
        }
      }
      yield* store.ensure
      // the batch shares its flags, so the environment file's text is made once
      const envText = EnvFile.render(first.env)
      const launches: Array<Launch> = []
      for (const input of inputs) {
        const id = Ids.make()
        const after = yield* resolveAfter(input.after)
        const spec = specOf(input, kind, null, after, config)
        const submitted = submittedOf(id, spec)
        const env = input.env === first.env ? envText : EnvFile.render(input.env)
        const paths = yield* store.create(submitted, env, { sync: false, files: supervisorFiles(spec, after, config) })
        launches.push({ id, spec, paths, layout: store.layout })
      }
      for (const launch of launches) yield* store.syncLog(launch.id)
      yield* store.syncJobs
      const started =
        executor.startMany === undefined
          ? Effect.forEach(launches, executor.start, { discard: true })
          : executor.startMany(launches)
      yield* started.pipe(
        Effect.tapError((e) =>
          Effect.forEach(
            launches,
            ({ id }) =>
              store
                .append(id, { type: "FailedToStart", v: 1, id: eventId(), job: id, at: now(), reason: e.why })
                .pipe(Effect.ignore),
            { discard: true }
          )
        )
      )
      return launches.map(({ id }) => ({ job: toObject(store.load(id)), existing: false }))
    })

  return { submit, submitMany, refresh, executorFor, warnSkipped, warnDamaged, readable, toObject } as const
}
