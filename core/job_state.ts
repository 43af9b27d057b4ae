// A job's state as a pure, total fold over its events (DESIGN §4), and the job object every surface prints.
import type { Event } from "../events/mod.ts"

/** The statuses of DESIGN §4a, the same words on every surface. */
export const STATUSES = [
  "pending",
  "running",
  "completed",
  "failed",
  "stopped",
  "timed-out",
  "failed-to-start",
  "interrupted",
  "unknown"
] as const
export type Status = (typeof STATUSES)[number]

/** Statuses after which a job's log no longer changes. */
export const isTerminal = (status: Status): boolean =>
  status === "completed" ||
  status === "failed" ||
  status === "stopped" ||
  status === "timed-out" ||
  status === "failed-to-start" ||
  status === "interrupted"

/**
 * Whether a job ended without its supervisor's word: interrupted, or timed out with no exit status (its timeout was
 * carried out for a vanished supervisor, or Slurm ended it). What its command left may still run.
 */
export const vanished = (state: {
  readonly status: Status
  readonly exitCode: number | null
  readonly signal: string | null
  readonly reason: string | null
}): boolean =>
  state.status === "interrupted" ||
  (state.status === "timed-out" && state.exitCode === null && state.signal === null && state.reason !== null)

/** The types of the events that can end a job (a follower of its log stops after one). */
export const ENDINGS: ReadonlySet<string> = new Set([
  "Exited",
  "Interrupted",
  "FailedToStart",
  "SetupFailed",
  "DependencyFailed",
  "SlurmEnded"
])

/** One path a job copied back after its end, and why it could not (null: it could). */
export interface Download {
  readonly path: string
  readonly error: string | null
}

/** Everything known about a job from its log. */
export interface JobState {
  readonly id: string
  readonly spec: Event.JobSpec | null
  readonly status: Status
  readonly createdAt: string | null
  readonly startedAt: string | null
  readonly finishedAt: string | null
  readonly exitCode: number | null
  readonly signal: string | null
  readonly started: (Event.Event & { readonly type: "Started" }) | null
  /** Who submitted the job (whose it is until a supervisor takes it up); null in older logs. */
  readonly submitter: Event.Submitter | null
  /** The waiter of a queued job (its supervisor, before it starts the command). */
  readonly queued: (Event.Event & { readonly type: "Queued" }) | null
  readonly stopRequested: boolean
  readonly timedOut: boolean
  readonly reason: string | null
  /** The progress recorded in the log once the job ended (while it runs, progress is read from its files). */
  readonly progress: Event.Progress | null
  /** Dollars recorded by ended GPU instances, and the instances still held (for the cost so far). */
  readonly cost: number | null
  readonly instances: ReadonlyArray<{ readonly id: string; readonly since: string; readonly pricePerHour: number }>
  /** The Slurm job id of a job run through Slurm, once sbatch accepted it. */
  readonly slurmJobId: string | null
  /** What a GPU job copied back after its end (`--download`), each with its error or null. */
  readonly downloads: ReadonlyArray<Download>
  /** How many events were folded. */
  readonly version: number
}

/** The state of a job before any event. */
export const initial = (id: string): JobState => ({
  id,
  spec: null,
  status: "pending",
  createdAt: null,
  startedAt: null,
  finishedAt: null,
  exitCode: null,
  signal: null,
  started: null,
  submitter: null,
  queued: null,
  stopRequested: false,
  timedOut: false,
  reason: null,
  progress: null,
  cost: null,
  instances: [],
  slurmJobId: null,
  downloads: [],
  version: 0
})

/**
 * The next state. Pure and total: an event that makes no sense in the current state is ignored, never thrown.
 *
 * @example
 * const state = events.reduce(JobState.evolve, JobState.initial(id))
 */
export const evolve = (state: JobState, event: Event.Event): JobState => {
  const next = { ...state, version: state.version + 1 }
  switch (event.type) {
    case "Submitted":
      return state.spec === null
        ? { ...next, spec: event.spec, createdAt: event.at, submitter: event.submitter ?? null }
        : next
    case "Started":
      return state.status === "pending" ? { ...next, status: "running", started: event, startedAt: event.at } : next
    case "StopRequested":
      return isTerminal(state.status) ? next : { ...next, stopRequested: true }
    case "TimedOut":
      return isTerminal(state.status) ? next : { ...next, timedOut: true }
    case "Exited": {
      // an Exited that arrives after Interrupted (a mirrored log catching up) is the better truth
      if (isTerminal(state.status) && !vanished(state)) return next
      const status: Status = state.timedOut
        ? "timed-out"
        : state.stopRequested
          ? "stopped"
          : event.code === 0
            ? "completed"
            : "failed"
      return { ...next, status, exitCode: event.code, signal: event.signal, finishedAt: event.at, reason: null }
    }
    case "Interrupted":
      // a supervisor gone after its job's timeout was carried out (by its watcher, or by a reader): timed out
      return isTerminal(state.status)
        ? next
        : { ...next, status: state.timedOut ? "timed-out" : "interrupted", finishedAt: event.at, reason: event.reason }
    case "FailedToStart":
      return isTerminal(state.status)
        ? next
        : { ...next, status: "failed-to-start", finishedAt: event.at, reason: event.reason }
    case "ProgressRecorded":
      return { ...next, progress: event.progress }
    case "HookRan":
    case "OutputTruncated":
    case "OutputDropped":
    case "Synced":
    case "ProvisionRequested":
    case "OfferRejected":
    case "InstanceReady":
    case "GuardArmed":
    case "Bootstrapped":
    case "MirrorRefused":
      return next
    case "Downloaded":
      return { ...next, downloads: [...state.downloads, { path: event.path, error: event.error }] }
    case "Provisioned":
      return {
        ...next,
        instances: [...state.instances, { id: event.instanceId, since: event.at, pricePerHour: event.pricePerHour }]
      }
    case "Terminated":
      return state.instances.some((i) => i.id === event.instanceId)
        ? {
            ...next,
            cost: (state.cost ?? 0) + event.cost,
            instances: state.instances.filter((i) => i.id !== event.instanceId)
          }
        : next
    case "SetupFailed":
      return isTerminal(state.status)
        ? next
        : { ...next, status: "failed", finishedAt: event.at, reason: `${event.stage} failed: ${event.reason}` }
    case "Queued":
      return state.status === "pending" ? { ...next, queued: event } : next
    case "SlurmSubmitted":
      return { ...next, slurmJobId: event.slurmJobId }
    case "SlurmEnded":
      return isTerminal(state.status)
        ? next
        : {
            ...next,
            status: slurmStatus(event.state),
            finishedAt: event.at,
            exitCode: null,
            signal: event.signal,
            reason: event.reason
          }
    case "DependencyFailed":
      return state.status === "pending"
        ? { ...next, status: "failed", finishedAt: event.at, reason: `dependency failed: ${event.dependency}` }
        : next
  }
}

/**
 * The status of a job that Slurm ended before its supervisor recorded an end, from Slurm's JobState: cancelled is
 * stopped, a time limit or deadline timed-out, running out of memory failed, and anything else (a node failure,
 * preemption, a batch script that died, even COMPLETED without a word from the supervisor) interrupted. Never completed.
 */
export const slurmStatus = (slurmState: string): Status => {
  switch (slurmState) {
    case "CANCELLED":
      return "stopped"
    case "TIMEOUT":
    case "DEADLINE":
      return "timed-out"
    case "OUT_OF_MEMORY":
      return "failed"
    default:
      return "interrupted"
  }
}

/** The state after a sequence of events. */
export const fold = (id: string, events: Iterable<Event.Event>): JobState => {
  let state = initial(id)
  for (const event of events) state = evolve(state, event)
  return state
}

/** The exit code a shell would report for this job: the code, 128+N for signal N, undefined when there is none. */
export const shellExitCode = (state: JobState): number | undefined => {
  if (state.exitCode !== null) return state.exitCode
  if (state.signal !== null) {
    const n = signalNumber(state.signal)
    return n === undefined ? undefined : 128 + n
  }
  return undefined
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31
}

/** The Linux number of a signal name ("SIGTERM", "TERM" or "15"), or undefined. */
export const signalNumber = (name: string): number | undefined => {
  if (/^\d+$/.test(name)) {
    const n = Number(name)
    return n >= 1 && n <= 64 ? n : undefined
  }
  const upper = name.toUpperCase()
  return SIGNALS[upper.startsWith("SIG") ? upper : `SIG${upper}`]
}

/** The canonical name of a signal ("TERM", "15" → "SIGTERM"), or undefined. */
export const signalName = (name: string): string | undefined => {
  const n = signalNumber(name)
  if (n === undefined) return undefined
  return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) ?? `SIG${n}`
}

/** The job object of DESIGN §4a: camelCase fields that only ever grow. */
export interface JobObject {
  readonly id: string
  readonly shortId: string
  readonly name: string | null
  readonly status: Status
  readonly command: ReadonlyArray<string>
  readonly cwd: string | null
  readonly project: string | null
  readonly executor: string
  readonly worker: string | null
  readonly createdAt: string | null
  readonly startedAt: string | null
  readonly finishedAt: string | null
  readonly exitCode: number | null
  readonly signal: string | null
  readonly pid: number | null
  readonly timeoutSecs: number | null
  readonly key: string | null
  readonly retryOf: string | null
  readonly reason: string | null
  readonly group: string | null
  readonly priority: number
  /** Ids of the jobs this one waits for. */
  readonly after: ReadonlyArray<string>
  /** A waiting job's place in its group's queue (1 starts next), else null. */
  readonly position: number | null
  /** How far the job got, with its rate and ETA; null when it reports none. */
  readonly progress: ProgressView | null
  /** The Slurm job id of a job run through Slurm (`ID`, or `ARRAYID_INDEX` in a job array), else null. */
  readonly slurmJobId: string | null
  /** What a GPU job copied back after its end (`--download`): each path with its error, or null when it came. */
  readonly downloads: ReadonlyArray<Download>
  readonly logPath: string
  readonly eventsPath: string
  /** Dollars a GPU job's instances cost: recorded when they ended, plus price × time of any still held. */
  readonly cost: number | null
}

/** Progress as every surface shows it. */
export interface ProgressView {
  readonly done: number
  readonly total: number | null
  /** 0–100, or null without a total. */
  readonly percent: number | null
  /** Units per second, or null when it cannot be told. */
  readonly rate: number | null
  /** Seconds left, or null when it cannot be told. */
  readonly etaSecs: number | null
  readonly message: string | null
  /** Where it was found: tqdm, pattern or file. */
  readonly source: string
}

/** Projects a state to the job object, given where its files are (and its progress, read by the caller). */
export const toObject = (
  state: JobState,
  paths: { readonly logPath: string; readonly eventsPath: string },
  progress: ProgressView | null = null,
  position: number | null = null
): JobObject => ({
  id: state.id,
  shortId: state.id.slice(-8).toLowerCase(),
  name: state.spec?.name ?? null,
  status: state.status,
  command: state.spec?.command ?? [],
  cwd: state.spec?.cwd ?? null,
  project: state.spec?.project ?? null,
  executor: state.spec?.executor ?? "local",
  worker: state.spec?.worker ?? null,
  createdAt: state.createdAt,
  startedAt: state.startedAt,
  finishedAt: state.finishedAt,
  exitCode: state.exitCode,
  signal: state.signal,
  pid: state.started?.pid ?? null,
  timeoutSecs: state.spec?.timeoutSecs ?? null,
  key: state.spec?.key ?? null,
  retryOf: state.spec?.retryOf ?? null,
  reason: state.reason,
  group: state.spec?.group ?? null,
  priority: state.spec?.priority ?? 0,
  after: state.spec?.after?.jobs ?? [],
  position,
  progress,
  slurmJobId: state.slurmJobId,
  downloads: state.downloads,
  logPath: paths.logPath,
  eventsPath: paths.eventsPath,
  cost: costSoFar(state)
})

/** What a job's instances cost until now (null for a job that never held one). */
export const costSoFar = (state: JobState, now = Date.now()): number | null => {
  if (state.cost === null && state.instances.length === 0) return null
  const held = state.instances.reduce(
    (sum, i) => sum + (i.pricePerHour * Math.max(0, now - Date.parse(i.since))) / 3_600_000,
    0
  )
  return Math.round(((state.cost ?? 0) + held) * 10_000) / 10_000
}

/**
 * The exit code `jobs wait` reports for an ended job (DESIGN §4a): its code, 128+N when killed by signal N, and 125
 * when there is none (interrupted, failed-to-start, unknown, or stopped before it ran). A job that completed but
 * whose results could not be copied back (a failed `--download`) reports 1: the work it names is not all there.
 */
export const waitExitCode = (job: JobObject): number => {
  if (job.exitCode === 0 && job.downloads.some((d) => d.error !== null)) return 1
  if (job.exitCode !== null) return job.exitCode
  if (job.signal !== null) {
    const n = signalNumber(job.signal)
    return n === undefined ? 125 : 128 + n
  }
  return 125
}
