// The local executor: the supervisor as a detached process on this machine (its own session, stdio closed).

import * as ChildProcess from "node:child_process"
import * as Effect from "effect/Effect"
import { StartFailed } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as JobState from "../core/job_state.ts"
import * as Proc from "./proc.ts"
import * as Supervisor from "./supervisor.ts"

const liveness = (state: JobState.JobState): Effect.Effect<Executor.Liveness> =>
  Effect.sync(() => {
    const started = state.started
    if (started === null) return "alive"
    return Proc.isAlive(started.supervisorPid, started.supervisorStartTime, started.bootId) ? "alive" : "dead"
  })

const requestStop = (state: JobState.JobState): Effect.Effect<void> =>
  Effect.sync(() => {
    const started = state.started
    if (started === null) return
    // signal only the process that is still our supervisor: never a pid the kernel has handed on
    if (!Proc.isAlive(started.supervisorPid, started.supervisorStartTime, started.bootId)) return
    try {
      process.kill(started.supervisorPid, "SIGTERM")
    } catch {
      // it ended in between: nothing to stop
    }
  })

const start = (launch: Executor.Launch): Effect.Effect<void, StartFailed> =>
  Effect.try({
    try: () => {
      const script = Supervisor.install(launch.layout.bin)
      const { spec } = launch
      const child = ChildProcess.spawn(
        "/bin/sh",
        [
          script,
          launch.paths.dir,
          launch.id,
          String(spec.timeoutSecs === null ? 0 : Math.ceil(spec.timeoutSecs)),
          String(Math.ceil(spec.graceSecs)),
          spec.cwd,
          "--",
          ...spec.command
        ],
        {
          detached: true,
          stdio: "ignore",
          cwd: "/",
          env: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", LC_ALL: "C" }
        }
      )
      child.on("error", () => {})
      child.unref()
      if (child.pid === undefined) throw new Error("the supervisor could not be spawned")
    },
    catch: (cause) => new StartFailed({ job: launch.id, why: cause instanceof Error ? cause.message : String(cause) })
  })

/** The local executor. */
export const executor: Executor.Executor = { kind: "local", start, liveness, requestStop }
