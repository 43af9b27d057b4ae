// What the Slurm executor says to Slurm and makes of its answers, kept free of I/O: the sbatch arguments of a spec,
// the batch script that becomes the job's supervisor, and the reading of `scontrol show job -o`.

import * as JobState from "../core/job_state.ts"
import type { Event } from "../events/mod.ts"

/** The Slurm client tools the executor uses. */
export const TOOLS = ["sbatch", "scontrol", "scancel"] as const

/** The one-line explanation for missing tools (empty list: nothing missing). */
export const missingText = (missing: ReadonlyArray<string>, where: string): string =>
  `${missing.join(", ")} not found ${where} (Slurm's client tools, e.g. apt-get install slurm-client)`

/**
 * Slurm's --time in whole minutes for a job timeout: the timeout plus the grace, rounded up. The supervisor's own
 * timeout is the precise one and records TimedOut; Slurm's limit is the backstop that leaves room for the grace.
 */
export const timeLimitMinutes = (timeoutSecs: number, graceSecs: number): number =>
  Math.max(1, Math.ceil((timeoutSecs + graceSecs) / 60))

/** A Slurm job name for a job: `jobs-SHORTID`, with its name when it has one (letters, digits, . _ - only). */
export const jobName = (id: string, name: string | null): string => {
  const short = id.slice(-8).toLowerCase()
  const clean = (name ?? "").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40)
  return clean === "" ? `jobs-${short}` : `jobs-${short}-${clean}`
}

/** The sbatch options of a spec (each one argv element; nothing is ever parsed by a shell). */
export const sbatchOptions = (spec: Event.JobSpec, name: string): Array<string> => {
  const slurm = spec.slurm ?? null
  return [
    "--parsable",
    `--job-name=${name}`,
    ...(spec.timeoutSecs === null ? [] : [`--time=${timeLimitMinutes(spec.timeoutSecs, spec.graceSecs)}`]),
    ...(slurm?.partition == null ? [] : [`--partition=${slurm.partition}`]),
    ...(slurm?.cpus == null ? [] : [`--cpus-per-task=${slurm.cpus}`]),
    ...(slurm?.mem == null ? [] : [`--mem=${slurm.mem}`]),
    ...(slurm?.gpus == null ? [] : [`--gpus=${slurm.gpus}`]),
    // the user's own arguments last: where they repeat one of ours, sbatch takes the last
    ...(slurm?.sbatchArgs ?? [])
  ]
}

/**
 * sbatch's --output for a path, or /dev/null when the path holds a character sbatch would read as a pattern (% or
 * backslash): Slurm's own messages (a cancel, a time limit) land there, the job's output goes to output.log.
 */
export const outputPath = (path: string): string => (/[%\\]/.test(path) ? "/dev/null" : path)

/**
 * The batch script of one job: Slurm runs it in the allocation and it execs the supervisor in its --slurm mode, so
 * output, exit code, signals and events are a local job's. Its arguments are shell words, quoted by the caller
 * (`Shell.quote`, or a worker's `"$HOME"/'...'`); the command itself is in JOB_DIR/argv.
 */
export const batchScript = (words: {
  readonly supervisor: string
  readonly jobDir: string
  readonly id: string
  readonly timeoutSecs: number | null
  readonly graceSecs: number
  /** The supervisor's --umask argument (a shell word); without it, the job gets the umask Slurm gave the script. */
  readonly umask?: string
}): string =>
  "#!/bin/sh\n" +
  `# the batch script of jobs job ${words.id.replace(/[^A-Za-z0-9]/g, "")}: it becomes the job's supervisor\n` +
  `exec /bin/sh ${words.supervisor} ${words.umask === undefined ? "" : `${words.umask} `}--slurm ${words.jobDir} ${words.id} ` +
  `${words.timeoutSecs === null ? 0 : Math.ceil(words.timeoutSecs)} ${Math.ceil(words.graceSecs)} - --\n`

/** The batch script of a job array: element N runs the batch script of the Nth job (shell words, quoted). */
export const arrayScript = (scripts: ReadonlyArray<string>): string =>
  "#!/bin/sh\n# a jobs job array: each element runs its own job's batch script\ncase $SLURM_ARRAY_TASK_ID in\n" +
  scripts.map((s, i) => `  ${i}) exec /bin/sh ${s} ;;\n`).join("") +
  '  *) echo "jobs: no job for array index $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;\nesac\n'

/** A job as `scontrol show job -o` describes it. */
export interface SlurmJob {
  readonly jobState: string
  readonly reason: string | null
  /** The signal part of ExitCode (code:signal), as a name, when not 0. */
  readonly signal: string | null
}

/** What `scontrol show job -o ID` said. */
export type Query =
  | { readonly _tag: "Found"; readonly job: SlurmJob }
  /** Slurm no longer knows the job (it ended more than MinJobAge ago). */
  | { readonly _tag: "Gone" }
  /** Slurm could not be asked (the controller is down, the tool is missing). */
  | { readonly _tag: "Unreachable"; readonly why: string }

const field = (line: string, key: string): string | undefined => new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line)?.[1]

/** Reads the output of `scontrol show job -o ID` (exit status `ok`); the first line is the job asked for. */
export const parseQuery = (ok: boolean, stdout: string, stderr: string): Query => {
  if (!ok) {
    return /Invalid job id/i.test(stderr)
      ? { _tag: "Gone" }
      : { _tag: "Unreachable", why: stderr.trim().split("\n").pop() ?? "scontrol failed" }
  }
  const line = stdout.split("\n").find((l) => l.includes("JobState="))
  if (line === undefined) return { _tag: "Gone" }
  const reason = field(line, "Reason") ?? "None"
  const sig = Number((field(line, "ExitCode") ?? "0:0").split(":")[1] ?? 0)
  return {
    _tag: "Found",
    job: {
      jobState: field(line, "JobState") ?? "UNKNOWN",
      reason: reason === "None" || reason === "(null)" ? null : reason,
      signal: sig > 0 ? (JobState.signalName(String(sig)) ?? null) : null
    }
  }
}

/** Slurm's states after which a job no longer runs (the rest: it waits, runs, or is being finished). */
const ENDED = new Set([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
  "NODE_FAIL",
  "PREEMPTED",
  "BOOT_FAIL",
  "DEADLINE",
  "OUT_OF_MEMORY",
  "REVOKED",
  "SPECIAL_EXIT"
])

/** Whether Slurm's state means the job no longer runs. */
export const isEnded = (jobState: string): boolean => ENDED.has(jobState)

/** The end to record for a job Slurm ended before its supervisor could. */
export const endedEvent = (
  state: JobState.JobState,
  slurmJobId: string,
  job: SlurmJob,
  at: string
): Event.Event & { readonly type: "SlurmEnded" } => {
  // a cancelled job keeps the reason it last waited for, which says nothing of its end
  const why = job.reason === null || job.jobState === "CANCELLED" ? "" : ` (${job.reason})`
  const when =
    state.started === null ? "before the job started" : "before the supervisor could record how the job ended"
  return {
    type: "SlurmEnded",
    v: 1,
    id: `${state.id}.slurm-ended`,
    job: state.id,
    at,
    slurmJobId,
    state: job.jobState,
    signal: job.signal,
    reason: `Slurm ended job ${slurmJobId} ${job.jobState}${why} ${when}`
  }
}

/** The end to record for a job Slurm has forgotten although the log never recorded its end. */
export const goneEvent = (
  state: JobState.JobState,
  slurmJobId: string,
  at: string
): Event.Event & { readonly type: "Interrupted" } => ({
  type: "Interrupted",
  v: 1,
  id: `${state.id}.slurm-gone`,
  job: state.id,
  at,
  reason: `Slurm no longer knows job ${slurmJobId}, and the supervisor recorded no end`
})

/** The end to record for a job whose submitter died before sbatch accepted it (Slurm has no job of its name). */
export const neverSubmittedEvent = (
  state: JobState.JobState,
  at: string
): Event.Event & { readonly type: "Interrupted" } => ({
  type: "Interrupted",
  v: 1,
  id: `${state.id}.slurm-gone`,
  job: state.id,
  at,
  reason: `never started: Slurm has no job of its name, and its submitter (pid ${state.submitter?.pid ?? "?"}) is gone`
})

/**
 * The Slurm job ids `squeue -h -o %i --name=NAME` printed (one a line); undefined when the answer is not that.
 */
export const parseIds = (stdout: string): Array<string> | undefined => {
  const ids = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
  return ids.every((id) => /^\d+(_\d+)?$/.test(id)) ? ids : undefined
}
