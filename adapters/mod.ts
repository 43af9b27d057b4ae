// What touches the world: the supervisor script, the executors, /proc liveness. GPU instances (RemoteJob, the
// provider clients, the emulator) have their own entry, adapters/gpu/mod.ts, so that nothing here loads them.
import * as Path from "node:path"
import * as Layer from "effect/Layer"
import * as JobStore from "../core/job_store.ts"
import * as Jobs from "../core/jobs.ts"
import * as Executors from "./executors.ts"

/** The executors of this build. */
export * as Executors from "./executors.ts"
/** The local executor (a detached supervisor on this machine). */
export * as LocalExecutor from "./local_executor.ts"
/** /proc reading for liveness. */
export * as Proc from "./proc.ts"
/** The supervisor script and its installation. */
export * as Supervisor from "./supervisor.ts"

/**
 * Everything an Effect app needs to use jobs on one home: the Jobs service with the store and every executor. A
 * relative `home` is resolved against the current directory when `layer` is called.
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
export const layer = (home: string): Layer.Layer<Jobs.Jobs | Jobs.Internal> => {
  // a relative home is taken from the directory of now, once: supervisors run from `/` and a later chdir of the app
  // must not move the home
  const absolute = Path.resolve(home)
  return Jobs.layer.pipe(Layer.provide(Layer.merge(JobStore.layer(absolute), Executors.layer(absolute))))
}
