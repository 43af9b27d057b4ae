// jobs run: start a command in the background and return at once.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { Internal } from "../../core/jobs.ts"
import * as AttachFlow from "../attach_flow.ts"
import * as GpuRun from "../gpu_run.ts"
import * as GpuRunOptions from "../gpu_run_options.ts"
import { Invocation } from "../invocation.ts"
import * as RunSubmit from "../run_submit.ts"

const options = {
  name: Options.text("name").pipe(Options.withDescription("A name to refer to the job by"), Options.optional),
  cwd: Options.text("cwd").pipe(
    Options.withDescription("Directory to run in (default: the current one)"),
    Options.optional
  ),
  env: Options.text("env").pipe(
    Options.withAlias("e"),
    Options.withDescription("K=V sets a variable, K passes the current value (repeatable)"),
    Options.repeated
  ),
  envFile: Options.text("env-file").pipe(
    Options.withDescription("Read NAME=value lines from a file"),
    Options.optional
  ),
  timeout: Options.text("timeout").pipe(
    Options.withDescription("Stop the job after this long (90s, 30m, 2h): TERM, then KILL after the grace"),
    Options.optional
  ),
  grace: Options.text("grace").pipe(
    Options.withDescription("Time between TERM and KILL on stop or timeout (default 10s)"),
    Options.optional
  ),
  progressPattern: Options.text("progress-pattern").pipe(
    Options.withDescription("A regex with named groups done and total that finds progress in the output"),
    Options.optional
  ),
  maxLogSize: Options.text("max-log-size").pipe(
    Options.withDescription("Keep at most this much output in output.log (the head; the latest in output.tail.N)"),
    Options.optional
  ),
  on: Options.text("on").pipe(
    Options.withDescription("Run on this SSH worker (--on alone: the default worker); the cwd is pushed there first"),
    Options.optional
  ),
  noSync: Options.boolean("no-sync").pipe(
    Options.withAlias("n"),
    Options.withDescription("With --on: do not push the cwd (the job starts in an empty work dir)")
  ),
  each: Options.text("each").pipe(
    Options.withDescription("Submit one job per line of FILE (- for stdin), each a shell command, sharing the flags"),
    Options.optional
  ),
  onDone: Options.text("on-done").pipe(
    Options.withDescription("A shell command run when the job ends (JOBS_ID, JOBS_STATUS, JOBS_EXIT_CODE, JOBS_NAME)"),
    Options.optional
  ),
  group: Options.text("group").pipe(
    Options.withDescription("Queue group: wait for a free slot (jobs group set NAME --parallel N)"),
    Options.optional
  ),
  priority: Options.text("priority").pipe(
    Options.withDescription("Within a group, higher starts first (default 0), then first come first served"),
    Options.optional
  ),
  after: Options.text("after").pipe(
    Options.withDescription("Start only once these jobs (comma-separated) completed; if one fails, fail too"),
    Options.optional
  ),
  afterAny: Options.text("after-any").pipe(
    Options.withDescription("Start once these jobs (comma-separated) ended, whatever their result"),
    Options.optional
  ),
  slurm: Options.boolean("slurm").pipe(
    Options.withDescription(
      "Submit to Slurm with sbatch (with --on: on that worker, a login node); pending while Slurm holds it"
    )
  ),
  partition: Options.text("partition").pipe(
    Options.withDescription("With --slurm: the Slurm partition (sbatch --partition)"),
    Options.optional
  ),
  cpus: Options.text("cpus").pipe(
    Options.withDescription("With --slurm: CPUs for the job (sbatch --cpus-per-task)"),
    Options.optional
  ),
  mem: Options.text("mem").pipe(
    Options.withDescription("With --slurm: memory for the job, such as 8G (sbatch --mem)"),
    Options.optional
  ),
  gpu: Options.text("gpu").pipe(
    Options.withDescription(
      "Run on a rented GPU instance, TYPE[:N] such as A100:2 (the cheapest offer: see --max-price, --provider); " +
        "with --slurm: GPUs as [TYPE:]N (sbatch --gpus)"
    ),
    Options.optional
  ),
  sbatchArg: Options.text("sbatch-arg").pipe(
    Options.withDescription("With --slurm: one more sbatch argument, as is (repeatable): --sbatch-arg=--qos=long"),
    Options.repeated
  ),
  tmux: Options.boolean("tmux").pipe(
    Options.withDescription("Run in its own tmux session (a real terminal; jobs attach ID to watch it)")
  ),
  attach: Options.boolean("attach").pipe(
    Options.withAlias("a"),
    Options.withDescription("With --tmux or --on: attach right after the start (Ctrl+B D detaches)")
  ),
  key: Options.text("key").pipe(
    Options.withDescription("Idempotency key: a second run with the same key returns the first job"),
    Options.optional
  ),
  ...GpuRunOptions.options
}

/** `jobs run [flags] -- CMD [ARGS...]` */
export const command = Command.make("run", options, (flags) =>
  Effect.gen(function* () {
    const jobs = yield* Internal
    const invocation = yield* Invocation
    const job = yield* RunSubmit.submit(flags, jobs.submitInput, jobs.submitManyInput)
    if (flags.attach && job !== undefined) {
      // a GPU job has a session to attach to once its instance runs it
      const ready = job.executor === "gpu" ? yield* GpuRun.untilStarted(jobs, job.id) : job
      yield* AttachFlow.attach(jobs, invocation.home, ready)
    }
  })
).pipe(
  Command.withDescription(
    "Start CMD in the background and print its short id. The command is the argv after --, run without a shell " +
      "(for a pipeline: jobs run -- sh -c '...')."
  )
)
