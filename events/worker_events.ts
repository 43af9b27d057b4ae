// What a worker (an SSH worker, a Slurm login node, a GPU instance) may write into a job's log, and the checks every
// line read back from there passes before it is mirrored. The job's own code runs there as the same user as the
// supervisor and can write its job folder: every remote line is untrusted input until it passes `vetLine`.
import * as Schema from "effect/Schema"
import * as Event from "./event.ts"

/** The longest line taken from a worker's log, in bytes (the supervisor's longest line is well under 1 KiB). */
export const MAX_LINE_BYTES = 64 * 1024

/**
 * The event types a worker may write, each with the id suffixes the supervisor gives them (its ids are
 * `<job id>.<suffix>`, so each is mirrored at most once) and, where it applies, the executors it comes from. This is
 * what `adapters/supervisor.sh` writes on a worker; `adapters/gpu/guard.sh` writes no event. Everything else —
 * Submitted, Synced, Provisioned, InstanceReady, GuardArmed, Bootstrapped, Downloaded, Terminated (and its cost),
 * StopRequested by the user, Interrupted, SetupFailed, Slurm's answers, ProgressRecorded — only the local side can
 * know, and is never taken from a worker.
 */
export const WORKER_TYPES = {
  Started: {
    suffixes: ["started"],
    why: "the supervisor started the command there: only the worker knows its pid, process group, host and boot"
  },
  Exited: {
    suffixes: ["exited"],
    why: "the supervisor saw the command end there: only the worker knows the exit code or signal"
  },
  TimedOut: {
    suffixes: ["timedout"],
    why: "the supervisor enforces --timeout on the worker, and Slurm's time limit is seen on the cluster"
  },
  StopRequested: {
    suffixes: ["slurmstop"],
    executors: ["slurm"],
    why: "a scancel on the cluster (not `jobs stop`) reaches only the supervisor under Slurm, which records it"
  },
  OutputDropped: {
    suffixes: ["dropped"],
    why: "writing output.log failed on the worker's disk: only the supervisor there sees it"
  },
  OutputTruncated: {
    suffixes: ["truncated"],
    why: "the output passed --max-log-size on the worker (a remote start sends the limits file): only its writer sees it"
  }
} as const satisfies Record<
  string,
  { readonly suffixes: ReadonlyArray<string>; readonly executors?: ReadonlyArray<string>; readonly why: string }
>

/** A type of event a worker may write. */
export type WorkerType = keyof typeof WORKER_TYPES

/**
 * Events the supervisor can write, but only from files a remote start does not send (queue, hooks): on a
 * worker such a line is a forgery, so these are refused too. A remote start that begins to send one of those files
 * must move the type to WORKER_TYPES.
 */
export const LOCAL_ONLY_SUPERVISOR_TYPES = {
  Queued: "from the queue file (--group, --after), which a remote start does not send",
  DependencyFailed: "from the queue file (--after), which a remote start does not send",
  HookRan: "from the hooks file (--on-done, on_done), which a remote start does not send"
} as const

// never 1 (init), nor 0 or negative: `kill -- -PGID` with 1 would signal every process of the user
const Pid = Schema.Int.pipe(Schema.between(2, 2 ** 31 - 1))
const Ticks = Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER))
const Seconds = Schema.Number.pipe(Schema.between(0, 1e10))
const SignalName = Schema.String.pipe(Schema.pattern(/^SIG[A-Z0-9+-]{1,16}$/))

// the fields every event has, bounded: the supervisor writes v 1, `<job>.<suffix>` ids and `date -u` times
const Common = {
  v: Schema.Int.pipe(Schema.between(1, Event.VERSION)),
  id: Schema.String.pipe(Schema.maxLength(64)),
  job: Schema.String.pipe(Schema.pattern(/^[0-9A-HJKMNP-TV-Z]{26}$/)),
  at: Schema.String.pipe(Schema.pattern(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/))
}

/**
 * An event as a worker may write it: one of WORKER_TYPES, every field bounded (pids, start times, exit codes and
 * signal names as the supervisor writes them). Its decoded value is an `Event.Event`.
 */
export const WorkerEvent = Schema.Union(
  Schema.Struct({
    ...Event.Started.fields,
    ...Common,
    pid: Pid,
    pgid: Pid,
    host: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{0,255}$/)),
    bootId: Schema.String.pipe(Schema.pattern(/^[0-9a-z-]{1,64}$/)),
    startTime: Ticks,
    supervisorPid: Pid,
    supervisorStartTime: Ticks
  }),
  Schema.Struct({
    ...Event.Exited.fields,
    ...Common,
    code: Schema.NullOr(Schema.Int.pipe(Schema.between(0, 255))),
    signal: Schema.NullOr(SignalName)
  }),
  Schema.Struct({ ...Event.TimedOut.fields, ...Common, timeoutSecs: Seconds }),
  Schema.Struct({ ...Event.StopRequested.fields, ...Common, signal: SignalName, graceSecs: Seconds }),
  Schema.Struct({ ...Event.OutputDropped.fields, ...Common, reason: Schema.String.pipe(Schema.maxLength(1000)) }),
  Schema.Struct({ ...Event.OutputTruncated.fields, ...Common, keptBytes: Schema.Int.pipe(Schema.between(1, 2 ** 50)) })
).annotations({ identifier: "WorkerEvent", title: "an event a worker may write into a job's log" })

const decodeWorkerEvent = Schema.decodeUnknownEither(WorkerEvent)

/** Why a remote line was not mirrored (the keys of MirrorRefused's `reasons`). */
export type Refusal =
  | "too-long"
  | "not-json"
  | "not-an-event"
  | "other-job"
  | "local-only"
  | "unexpected-id"
  | "end-while-running"
  | "superseded-end"

/** What checking one remote line gave: the event to mirror (decoded, to be re-encoded), or why not. */
export type Vetted =
  | { readonly _tag: "Accepted"; readonly event: Event.Event }
  | { readonly _tag: "Refused"; readonly reason: Refusal }

const refused = (reason: Refusal): Vetted => ({ _tag: "Refused", reason })

/**
 * Checks one line of a worker's copy of a job's log (without its `\n`): under the size cap, JSON, this job's, of a
 * type a worker may write for this executor, with the supervisor's id for it, and decoded by `WorkerEvent`.
 *
 * @example
 * const vetted = WorkerEvents.vetLine(line, { id: job.id, executor: "ssh" })
 * if (vetted._tag === "Accepted") EventLog.appendSync(path, [vetted.event])
 */
export const vetLine = (line: string, job: { readonly id: string; readonly executor: string }): Vetted => {
  if (Buffer.byteLength(line, "utf8") > MAX_LINE_BYTES) return refused("too-long")
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return refused("not-json")
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return refused("not-an-event")
  const fields = json as { readonly job?: unknown; readonly type?: unknown; readonly id?: unknown }
  if (fields.job !== job.id) return refused("other-job")
  if (typeof fields.type !== "string") return refused("not-an-event")
  const allowed: { readonly suffixes: ReadonlyArray<string>; readonly executors?: ReadonlyArray<string> } | undefined =
    Object.hasOwn(WORKER_TYPES, fields.type) ? WORKER_TYPES[fields.type as WorkerType] : undefined
  if (allowed === undefined || (allowed.executors !== undefined && !allowed.executors.includes(job.executor)))
    return refused("local-only")
  if (!allowed.suffixes.some((s) => fields.id === `${job.id}.${s}`)) return refused("unexpected-id")
  const decoded = decodeWorkerEvent(json)
  return decoded._tag === "Right" ? { _tag: "Accepted", event: decoded.right } : refused("not-an-event")
}
