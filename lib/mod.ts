// The `jobs` entry: the Jobs service and its layer for Effect apps, the job object and its statuses, and the errors.
// GPU instances are in `jobs/gpu`, the event schema and log reading in `jobs/events`.
import type * as Layer from "effect/Layer"
import * as Adapters from "../adapters/mod.ts"
import type { Jobs } from "../core/jobs.ts"

export * from "../core/errors.ts"
/**
 * A job as every surface shows it (`JobObject`), its statuses, and the exit code `jobs wait` gives for it.
 *
 * @example
 * const code = JobState.waitExitCode(job) // 0, the job's code, 128+N for signal N, 125 for none
 */
export * as JobState from "../core/job_state.ts"
export {
  BASE_ENV,
  type CleanOptions,
  type JobReferenceError,
  Jobs,
  type ListOptions,
  type RemoteFiles,
  type StopOptions,
  type StopResult,
  type Submission,
  type SubmitError,
  type SubmitOptions,
  type Summary
} from "../core/jobs.ts"

/**
 * The Jobs service on one home (the CLI's default is `~/.jobs`), with every executor. A relative `home` is resolved
 * against the current directory once, when `layer` is called.
 *
 * @example
 * import { Effect } from "effect"
 * import { Jobs, layer } from "jobs"
 * const program = Effect.gen(function* () {
 *   const jobs = yield* Jobs
 *   const { job } = yield* jobs.submit({ command: ["sleep", "1"], cwd: process.cwd() })
 *   return yield* jobs.wait(job.id)
 * })
 * Effect.runPromise(Effect.provide(program, layer("/tmp/my-jobs")))
 */
export const layer: (home: string) => Layer.Layer<Jobs> = Adapters.layer
