// The JSON contract: every shape that `--json` prints and that the MCP server returns, as Effect Schemas. JSON
// Schemas generated from them are checked in under cli/schemas/ (a test fails when they drift). Fields only ever
// grow; renaming one is a breaking change.
import * as Schema from "effect/Schema"
import { Event } from "../events/mod.ts"
import * as JobState from "./job_state.ts"

/** A status word (DESIGN §4a). */
export const Status = Schema.Literal(...JobState.STATUSES)

/** How far a job got. */
export const Progress = Schema.Struct({
  done: Schema.Number,
  total: Schema.NullOr(Schema.Number),
  percent: Schema.NullOr(Schema.Number),
  rate: Schema.NullOr(Schema.Number),
  etaSecs: Schema.NullOr(Schema.Number),
  message: Schema.NullOr(Schema.String),
  source: Schema.String
}).annotations({ identifier: "Progress" })

/** The job object. */
export const Job = Schema.Struct({
  id: Schema.String,
  shortId: Schema.String,
  name: Schema.NullOr(Schema.String),
  status: Status,
  command: Schema.Array(Schema.String),
  cwd: Schema.NullOr(Schema.String),
  project: Schema.NullOr(Schema.String),
  executor: Schema.String,
  worker: Schema.NullOr(Schema.String),
  createdAt: Schema.NullOr(Schema.String),
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String),
  exitCode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  pid: Schema.NullOr(Schema.Number),
  timeoutSecs: Schema.NullOr(Schema.Number),
  key: Schema.NullOr(Schema.String),
  retryOf: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  group: Schema.NullOr(Schema.String),
  priority: Schema.Number,
  after: Schema.Array(Schema.String),
  position: Schema.NullOr(Schema.Number),
  progress: Schema.NullOr(Progress),
  slurmJobId: Schema.NullOr(Schema.String),
  downloads: Schema.Array(
    Schema.Struct({
      path: Schema.String,
      error: Schema.NullOr(Schema.String).annotations({ description: "why it could not be copied back, or null" })
    })
  ).annotations({ description: "what a GPU job copied back after its end (--download)" }),
  logPath: Schema.String,
  eventsPath: Schema.String,
  cost: Schema.NullOr(Schema.Number).annotations({ description: "dollars spent on GPU instances (so far)" })
}).annotations({ identifier: "Job" })

// the interface the code uses and the schema the contract publishes are the same shape
const sameShape: (job: JobState.JobObject) => typeof Job.Type = (job) => job
void sameShape

/** `jobs run --json`, `jobs retry --json`, the MCP tool run. */
export const RunResult = Schema.extend(Job, Schema.Struct({ existing: Schema.Boolean })).annotations({
  identifier: "RunResult"
})

/** `jobs list --json`. */
export const ListResult = Schema.Array(Job).annotations({ identifier: "ListResult" })

/** `jobs status ID --json`. */
export const StatusResult = Schema.extend(
  Job,
  Schema.Struct({ attachCommand: Schema.NullOr(Schema.String) })
).annotations({ identifier: "StatusResult" })

/** `jobs status --json` without an id. */
export const Summary = Schema.Struct({
  home: Schema.String,
  total: Schema.Number,
  counts: Schema.Struct({
    pending: Schema.Number,
    running: Schema.Number,
    completed: Schema.Number,
    failed: Schema.Number,
    stopped: Schema.Number,
    "timed-out": Schema.Number,
    "failed-to-start": Schema.Number,
    interrupted: Schema.Number,
    unknown: Schema.Number
  }),
  version: Schema.String
}).annotations({ identifier: "Summary" })

/** `jobs stop --json`: one entry per job stopped (the IDs given, then those of --group and --all). */
export const StopResult = Schema.Array(Schema.extend(Job, Schema.Struct({ alreadyEnded: Schema.Boolean }))).annotations(
  { identifier: "StopResult" }
)

/** `jobs wait --json`, `jobs rm --json`, `jobs clean --json`: the jobs concerned. */
export const JobsResult = Schema.Array(Job).annotations({ identifier: "JobsResult" })

/** One line of `jobs logs --json`. */
export const LogLine = Schema.Struct({ job: Schema.String, line: Schema.String }).annotations({ identifier: "LogLine" })

/** The MCP tool logs: a slice of the output and where to continue. */
export const LogsResult = Schema.Struct({
  job: Schema.String,
  text: Schema.String,
  offset: Schema.Number,
  nextOffset: Schema.Number,
  ended: Schema.Boolean
}).annotations({ identifier: "LogsResult" })

/** The MCP tool wait: the job, and the exit code `jobs wait` would exit with. */
export const WaitResult = Schema.Struct({
  job: Job,
  exitCode: Schema.Number,
  timedOut: Schema.Boolean
}).annotations({ identifier: "WaitResult" })

/** What every command prints on stdout with --json when it fails (with its one line on stderr and its exit code). */
export const ErrorResult = Schema.Struct({
  error: Schema.Struct({
    /** Stable: `usage` for a command line that does not parse, else the error's kind (`job-not-found`, …). */
    code: Schema.String,
    message: Schema.String
  })
}).annotations({ identifier: "ErrorResult" })

/** One line of `jobs events --all` (the all-jobs feed): where the feed stands, which job, and the event. */
export const FeedLine = Schema.Struct({
  cursor: Schema.String.annotations({ description: "the feed's position after this line: `--since CURSOR` resumes" }),
  job: Schema.Struct({
    id: Schema.String,
    shortId: Schema.String,
    name: Schema.NullOr(Schema.String),
    project: Schema.NullOr(Schema.String),
    status: Status.annotations({ description: "the job's status once this event is folded in" }),
    dir: Schema.String.annotations({ description: "the job's folder" })
  }),
  event: Event.Event
}).annotations({
  identifier: "FeedLine",
  title: "jobs events --all: one line",
  description: "One line of the all-jobs feed (jobs events --all [--follow])"
})

/** `jobs group set|pause|resume NAME --json`: the group's settings. */
export const GroupResult = Schema.Struct({
  name: Schema.String,
  parallel: Schema.NullOr(Schema.Number).annotations({ description: "how many of its jobs run at once (null: any)" }),
  paused: Schema.Boolean
}).annotations({ identifier: "GroupResult" })

/** `jobs group ls --json`: each group with its settings and how many of its jobs run and wait. */
export const GroupList = Schema.Array(
  Schema.extend(GroupResult, Schema.Struct({ running: Schema.Number, pending: Schema.Number }))
).annotations({ identifier: "GroupList" })

/** `jobs --version --json`. */
export const VersionResult = Schema.Struct({ version: Schema.String }).annotations({ identifier: "VersionResult" })

const titled = <S extends Schema.Schema.Any>(schema: S, title: string, description: string): S =>
  schema.annotations({ title, description }) as S

/**
 * Every published shape, by the name of its schema file: a file per command and shape (`wait-result` is what
 * `jobs wait --json` prints; the MCP tools' own shapes are `mcp-*`), each with a title and a description.
 */
export const shapes = {
  job: titled(Job, "Job", "The job object: every field of a job, as every surface shows it"),
  "run-result": titled(RunResult, "jobs run --json", "The job started (existing: true when --key found it)"),
  "retry-result": titled(RunResult, "jobs retry --json", "The new job (retryOf names the one retried)"),
  "list-result": titled(ListResult, "jobs list --json", "The jobs listed, newest first"),
  "status-result": titled(StatusResult, "jobs status ID --json", "One job in full"),
  summary: titled(Summary, "jobs status --json", "Counts of jobs by status, the home and the version"),
  "stop-result": titled(StopResult, "jobs stop --json", "Each job stopped, and whether it had already ended"),
  "wait-result": titled(JobsResult, "jobs wait --json", "The jobs waited for, as they ended (or stood)"),
  "rm-result": titled(JobsResult, "jobs rm --json", "The jobs removed"),
  "clean-result": titled(JobsResult, "jobs clean --json", "The jobs removed"),
  "jobs-result": titled(JobsResult, "jobs wait|rm|clean --json", "Kept for older readers: wait-, rm- and clean-result"),
  "log-line": titled(LogLine, "jobs logs --json", "One line of a job's output (JSON Lines)"),
  "feed-line": FeedLine,
  "group-result": titled(GroupResult, "jobs group set|pause|resume --json", "The group's settings"),
  "group-list": titled(GroupList, "jobs group ls --json", "Each group, its settings, its running and waiting jobs"),
  "version-result": titled(VersionResult, "jobs --version --json", "The version of jobs"),
  error: titled(ErrorResult, "an error under --json", "What every command prints on stdout when it fails"),
  "mcp-logs-result": titled(LogsResult, "MCP tool logs", "A slice of a job's output and where to continue"),
  "mcp-wait-result": titled(WaitResult, "MCP tool wait", "The job, and the exit code jobs wait would give"),
  "logs-result": titled(LogsResult, "MCP tool logs (old name)", "Kept for older readers: see mcp-logs-result")
} as const
