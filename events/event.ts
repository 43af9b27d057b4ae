// The event vocabulary of a job's log (schema v1): one Schema union discriminated by `type`.
// The file is read by jq and shell scripts, so the discriminator is `type`, never `_tag`.
import * as Schema from "effect/Schema"

/** The schema version written by this build. Readers accept every version up to it. */
export const VERSION = 1

const Common = {
  v: Schema.Number.annotations({ description: "schema version of this event (1)" }),
  id: Schema.String.annotations({ description: "unique id of this event, for de-duplication of mirrored logs" }),
  job: Schema.String.annotations({ description: "the job's id (a ULID)" }),
  at: Schema.String.annotations({ description: "when it happened, ISO-8601 UTC" })
}

/** What GPUs a job asked for (DESIGN §6, the Provider port): `maxPrice` is dollars per GPU per hour. */
export const GpuQuery = Schema.Struct({
  type: Schema.NullOr(Schema.String).annotations({ description: "a part of the GPU's name, such as A100" }),
  count: Schema.Number,
  maxPrice: Schema.NullOr(Schema.Number),
  minVramGb: Schema.NullOr(Schema.Number),
  cloudType: Schema.String.annotations({ description: "secure or community" }),
  minCuda: Schema.String,
  containerDiskGb: Schema.Number,
  volumeDiskGb: Schema.Number,
  providers: Schema.Array(Schema.String).annotations({ description: "in order of preference" })
}).annotations({ identifier: "GpuQuery" })

/** The GPU part of a job's spec: the instance it runs on, what prepares it, and what comes back. */
export const GpuSpec = Schema.Struct({
  query: GpuQuery,
  bootstrap: Schema.Array(Schema.String).annotations({ description: "shell commands run in the work dir first" }),
  download: Schema.Array(Schema.String).annotations({ description: "paths copied back into the cwd at the end" }),
  keepAlive: Schema.Boolean,
  keepAliveSecs: Schema.NullOr(Schema.Number).annotations({ description: "how long after the job (null: no limit)" }),
  image: Schema.String,
  sshTimeoutSecs: Schema.Number,
  providerTimeoutSecs: Schema.Number,
  instance: Schema.optional(
    Schema.NullOr(Schema.Struct({ provider: Schema.String, id: Schema.String })).annotations({
      description: "an instance already held (RemoteJob nodeId): used instead of provisioning one"
    })
  )
}).annotations({ identifier: "GpuSpec" })
export type GpuSpec = typeof GpuSpec.Type

/** What a Slurm job asks sbatch for (executor slurm). Absent fields are Slurm's defaults. */
export const SlurmSpec = Schema.Struct({
  partition: Schema.NullOr(Schema.String),
  cpus: Schema.NullOr(Schema.Number).annotations({ description: "sbatch --cpus-per-task" }),
  mem: Schema.NullOr(Schema.String).annotations({ description: "sbatch --mem, such as 8G" }),
  gpus: Schema.NullOr(Schema.String).annotations({ description: "sbatch --gpus: [TYPE:]N" }),
  sbatchArgs: Schema.Array(Schema.String).annotations({ description: "more sbatch arguments, passed as they are" })
}).annotations({ identifier: "SlurmSpec" })
export type SlurmSpec = typeof SlurmSpec.Type

/** A umask as `umask` prints it: four octal digits, such as "0022". */
export const Umask = Schema.String.pipe(Schema.pattern(/^0[0-7]{3}$/))

/** What a job is: everything needed to run it again. Environment values are never part of it. */
export const JobSpec = Schema.Struct({
  command: Schema.Array(Schema.String).annotations({ description: "the argv, executed without a shell" }),
  name: Schema.NullOr(Schema.String),
  cwd: Schema.String.annotations({ description: "the absolute, real path of the directory it runs in" }),
  project: Schema.String.annotations({ description: "git root of the cwd, else the cwd" }),
  executor: Schema.String.annotations({ description: "local, tmux, ssh, gpu or slurm" }),
  worker: Schema.NullOr(Schema.String),
  timeoutSecs: Schema.NullOr(Schema.Number),
  graceSecs: Schema.Number.annotations({ description: "seconds between TERM and KILL on stop or timeout" }),
  key: Schema.NullOr(Schema.String).annotations({ description: "idempotency key" }),
  retryOf: Schema.NullOr(Schema.String),
  group: Schema.optional(Schema.NullOr(Schema.String).annotations({ description: "queue group (null: no limit)" })),
  priority: Schema.optional(Schema.Number.annotations({ description: "higher starts first within a group" })),
  after: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        jobs: Schema.Array(Schema.String).annotations({ description: "ids of the jobs this one waits for" }),
        any: Schema.Boolean.annotations({ description: "start whatever their result (else: only if all completed)" })
      })
    )
  ),
  maxLogBytes: Schema.optional(
    Schema.NullOr(Schema.Number).annotations({ description: "output.log keeps at most this many bytes (the head)" })
  ),
  onDone: Schema.optional(
    Schema.NullOr(Schema.String).annotations({ description: "a shell command run when the job has ended" })
  ),
  progressPattern: Schema.optional(
    Schema.NullOr(Schema.String).annotations({
      description: "a regex with named groups done and total (and message) that finds progress in the output"
    })
  ),
  gpu: Schema.optional(Schema.NullOr(GpuSpec).annotations({ description: "the GPU instance of an executor gpu job" })),
  slurm: Schema.optional(
    Schema.NullOr(SlurmSpec).annotations({ description: "the sbatch request of a job run through Slurm" })
  ),
  umask: Schema.optional(
    Umask.annotations({
      description:
        "the umask of the process that submitted the job, which a job on this machine runs under (a job on a " +
        "worker gets the worker login's); absent in logs of earlier versions, whose jobs ran under 0077"
    })
  )
}).annotations({ identifier: "JobSpec" })
export type JobSpec = typeof JobSpec.Type

/**
 * The process that submitted a job: the job is in its hands until a supervisor has taken it up (Started or Queued),
 * so a submit killed half-way is told, as a supervisor is, by pid plus start time and boot id.
 */
export const Submitter = Schema.Struct({
  pid: Schema.Number,
  startTime: Schema.Number.annotations({ description: "field 22 of /proc/<pid>/stat" }),
  bootId: Schema.String
}).annotations({ identifier: "Submitter" })
export type Submitter = typeof Submitter.Type

/** The job was accepted, with its full spec. */
export const Submitted = Schema.Struct({
  type: Schema.Literal("Submitted"),
  ...Common,
  spec: JobSpec,
  submitter: Schema.optional(Submitter.annotations({ description: "who submitted it (absent in older logs)" }))
}).annotations({ identifier: "Submitted" })

/** The supervisor started the command. Liveness is the supervisor's pid plus its start time and the boot id. */
export const Started = Schema.Struct({
  type: Schema.Literal("Started"),
  ...Common,
  pid: Schema.Number.annotations({ description: "pid of the command (leader of its own process group)" }),
  pgid: Schema.Number,
  host: Schema.String,
  bootId: Schema.String.annotations({ description: "/proc/sys/kernel/random/boot_id of the host" }),
  startTime: Schema.Number.annotations({ description: "the command's start time, field 22 of /proc/<pid>/stat" }),
  supervisorPid: Schema.Number,
  supervisorStartTime: Schema.Number
}).annotations({ identifier: "Started" })

/** Someone asked the job to stop. */
export const StopRequested = Schema.Struct({
  type: Schema.Literal("StopRequested"),
  ...Common,
  signal: Schema.String.annotations({ description: "the first signal sent, such as SIGTERM" }),
  graceSecs: Schema.Number
}).annotations({ identifier: "StopRequested" })

/** The job ran past its timeout; TERM, then KILL after the grace period, follow. */
export const TimedOut = Schema.Struct({
  type: Schema.Literal("TimedOut"),
  ...Common,
  timeoutSecs: Schema.Number
}).annotations({ identifier: "TimedOut" })

/** The command ended: an exit code, or the signal that killed it. */
export const Exited = Schema.Struct({
  type: Schema.Literal("Exited"),
  ...Common,
  code: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Exited" })

/** The supervisor is waiting for the job's dependencies or a slot in its group (it is the waiter: no daemon). */
export const Queued = Schema.Struct({
  type: Schema.Literal("Queued"),
  ...Common,
  host: Schema.String,
  bootId: Schema.String,
  supervisorPid: Schema.Number,
  supervisorStartTime: Schema.Number
}).annotations({ identifier: "Queued" })

/** A dependency of the job did not complete, so the job ends as failed without running. */
export const DependencyFailed = Schema.Struct({
  type: Schema.Literal("DependencyFailed"),
  ...Common,
  dependency: Schema.String.annotations({ description: "the id of the job that did not complete" })
}).annotations({ identifier: "DependencyFailed" })

/** A completion hook ran (its failure never changes the job's status). */
export const HookRan = Schema.Struct({
  type: Schema.Literal("HookRan"),
  ...Common,
  hook: Schema.String.annotations({ description: "job (--on-done), config (on_done in config.yaml) or group" }),
  exitCode: Schema.Number
}).annotations({ identifier: "HookRan" })

/** The output passed --max-log-size: output.log keeps the head, output.tail.N files the latest output. */
export const OutputTruncated = Schema.Struct({
  type: Schema.Literal("OutputTruncated"),
  ...Common,
  keptBytes: Schema.Number
}).annotations({ identifier: "OutputTruncated" })

/** Writing the output failed (a full disk): the rest of it is dropped; the job goes on. */
export const OutputDropped = Schema.Struct({
  type: Schema.Literal("OutputDropped"),
  ...Common,
  reason: Schema.String
}).annotations({ identifier: "OutputDropped" })

/** The cwd was pushed to the worker (rsync's own figures). */
export const Synced = Schema.Struct({
  type: Schema.Literal("Synced"),
  ...Common,
  worker: Schema.String,
  bytesSent: Schema.Number.annotations({ description: "bytes rsync sent over the network" }),
  files: Schema.Number.annotations({ description: "files in the pushed tree" }),
  durationMs: Schema.Number
}).annotations({ identifier: "Synced" })

/** How far a job got. */
export const Progress = Schema.Struct({
  done: Schema.Number,
  total: Schema.NullOr(Schema.Number),
  message: Schema.NullOr(Schema.String),
  source: Schema.String.annotations({ description: "tqdm, pattern or file (JOBS_PROGRESS)" })
}).annotations({ identifier: "Progress" })
export type Progress = typeof Progress.Type

/** The last known progress of a job, recorded once after it ended (by whoever reads it first). */
export const ProgressRecorded = Schema.Struct({
  type: Schema.Literal("ProgressRecorded"),
  ...Common,
  progress: Progress
}).annotations({ identifier: "ProgressRecorded" })

/** The supervisor vanished without an Exited event (crash, kill -9, reboot), or never started. */
export const Interrupted = Schema.Struct({
  type: Schema.Literal("Interrupted"),
  ...Common,
  reason: Schema.String
}).annotations({ identifier: "Interrupted" })

/**
 * The job never ran: what had to start it refused (the worker could not be reached, sbatch refused it, no API key
 * for the GPU provider, ...). Not Interrupted, which says a supervisor vanished.
 */
export const FailedToStart = Schema.Struct({
  type: Schema.Literal("FailedToStart"),
  ...Common,
  reason: Schema.String
}).annotations({ identifier: "FailedToStart" })

/** A GPU job's instance is about to be asked for (logged before any provider is called). */
export const ProvisionRequested = Schema.Struct({
  type: Schema.Literal("ProvisionRequested"),
  ...Common,
  query: GpuQuery
}).annotations({ identifier: "ProvisionRequested" })

/** A provider created an instance for the job (its id, logged as soon as it is known), or one was given (offer "existing"). */
export const Provisioned = Schema.Struct({
  type: Schema.Literal("Provisioned"),
  ...Common,
  provider: Schema.String,
  instanceId: Schema.String,
  name: Schema.String.annotations({ description: "the instance's name at the provider: jobs-<job id>" }),
  offer: Schema.String,
  gpuType: Schema.String,
  gpuCount: Schema.Number,
  pricePerHour: Schema.Number.annotations({ description: "dollars per hour for the whole instance" })
}).annotations({ identifier: "Provisioned" })

/** An offer could not be had (no capacity, a failed instance, SSH that never came): the next one is tried. */
export const OfferRejected = Schema.Struct({
  type: Schema.Literal("OfferRejected"),
  ...Common,
  provider: Schema.String,
  offer: Schema.String,
  reason: Schema.String
}).annotations({ identifier: "OfferRejected" })

/** The instance runs and the provider gave its SSH endpoint. */
export const InstanceReady = Schema.Struct({
  type: Schema.Literal("InstanceReady"),
  ...Common,
  provider: Schema.String,
  instanceId: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  user: Schema.String
}).annotations({ identifier: "InstanceReady" })

/** The instance guards itself: it ends itself this way once the job has ended (plus a grace) or timed out. */
export const GuardArmed = Schema.Struct({
  type: Schema.Literal("GuardArmed"),
  ...Common,
  means: Schema.String.annotations({ description: "runpod-api, vast-api or poweroff" }),
  graceSecs: Schema.Number
}).annotations({ identifier: "GuardArmed" })

/** One bootstrap step ran in the work dir. */
export const Bootstrapped = Schema.Struct({
  type: Schema.Literal("Bootstrapped"),
  ...Common,
  step: Schema.Number.annotations({ description: "1 for the first --bootstrap" }),
  command: Schema.String,
  exitCode: Schema.Number,
  durationMs: Schema.Number
}).annotations({ identifier: "Bootstrapped" })

/** A path of the work dir was copied back (or could not be). */
export const Downloaded = Schema.Struct({
  type: Schema.Literal("Downloaded"),
  ...Common,
  path: Schema.String,
  error: Schema.NullOr(Schema.String),
  durationMs: Schema.Number
}).annotations({ identifier: "Downloaded" })

/** The job could not get to its command: provisioning, SSH, the push or a bootstrap step failed. */
export const SetupFailed = Schema.Struct({
  type: Schema.Literal("SetupFailed"),
  ...Common,
  stage: Schema.String.annotations({ description: "provision, ssh, sync or bootstrap" }),
  reason: Schema.String
}).annotations({ identifier: "SetupFailed" })

/** The instance ended (confirmed by reading the provider again, when `confirmed`), with what it cost. */
export const Terminated = Schema.Struct({
  type: Schema.Literal("Terminated"),
  ...Common,
  provider: Schema.String,
  instanceId: Schema.String,
  by: Schema.String.annotations({ description: "keeper, cli, sweep, or provider (found gone)" }),
  confirmed: Schema.Boolean,
  billedSecs: Schema.Number,
  pricePerHour: Schema.Number,
  cost: Schema.Number.annotations({ description: "dollars: pricePerHour x billedSecs / 3600" })
}).annotations({ identifier: "Terminated" })

/** Slurm accepted the job (sbatch): its Slurm job id, `ID` or `ARRAYID_INDEX` for an element of a job array. */
export const SlurmSubmitted = Schema.Struct({
  type: Schema.Literal("SlurmSubmitted"),
  ...Common,
  slurmJobId: Schema.String
}).annotations({ identifier: "SlurmSubmitted" })

/**
 * Slurm ended the job before its supervisor could record an end (cancelled while pending, a time limit, a node
 * failure, preemption), as `scontrol show job` said; recorded once, by whoever noticed first.
 */
export const SlurmEnded = Schema.Struct({
  type: Schema.Literal("SlurmEnded"),
  ...Common,
  slurmJobId: Schema.String,
  state: Schema.String.annotations({ description: "Slurm's JobState: CANCELLED, TIMEOUT, NODE_FAIL, PREEMPTED, ..." }),
  signal: Schema.NullOr(Schema.String).annotations({ description: "the signal part of Slurm's ExitCode, if any" }),
  reason: Schema.String
}).annotations({ identifier: "SlurmEnded" })

/**
 * Lines of the worker's copy of the job's log that were not mirrored (another job's, not an event, over the size
 * cap, a fact only the local side knows, an end while the command still ran). A warning of the local side, written
 * when a mirror pass refused something: never a fact of the job, which the fold ignores.
 */
export const MirrorRefused = Schema.Struct({
  type: Schema.Literal("MirrorRefused"),
  ...Common,
  count: Schema.Number.annotations({ description: "lines refused in this pass" }),
  total: Schema.Number.annotations({ description: "lines refused from this job's worker so far, this pass included" }),
  reasons: Schema.Record({ key: Schema.String, value: Schema.Number }).annotations({
    description:
      "this pass's refusals by reason: too-long, not-json, not-an-event, other-job, local-only, unexpected-id, " +
      "end-while-running, superseded-end"
  })
}).annotations({ identifier: "MirrorRefused" })

/** Every event of schema v1. */
export const Event = Schema.Union(
  Submitted,
  Started,
  StopRequested,
  TimedOut,
  Exited,
  Interrupted,
  FailedToStart,
  ProgressRecorded,
  Queued,
  DependencyFailed,
  HookRan,
  OutputTruncated,
  OutputDropped,
  Synced,
  ProvisionRequested,
  Provisioned,
  OfferRejected,
  InstanceReady,
  GuardArmed,
  Bootstrapped,
  Downloaded,
  SetupFailed,
  Terminated,
  SlurmSubmitted,
  SlurmEnded,
  MirrorRefused
).annotations({
  identifier: "JobEvent",
  title: "jobs event (one line of events.jsonl)"
})
export type Event = typeof Event.Type

/** The event types, for filters and docs. */
export type EventType = Event["type"]

/** Events after which the log is fsynced: losing one of them would change what the job is. */
export const isLifecycle = (event: Event): boolean =>
  event.type === "Submitted" ||
  event.type === "Started" ||
  event.type === "Exited" ||
  event.type === "Interrupted" ||
  event.type === "FailedToStart" ||
  event.type === "SlurmSubmitted" ||
  event.type === "SlurmEnded"
