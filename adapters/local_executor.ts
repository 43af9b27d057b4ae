// The local executor: the supervisor as a detached process on this machine (its own session, stdio closed).

import * as ChildProcess from "node:child_process"
import * as Effect from "effect/Effect"
import { StartFailed } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as JobState from "../core/job_state.ts"
import * as Proc from "./proc.ts"
import * as Supervisor from "./supervisor.ts"

export const liveness = (state: JobState.JobState): Effect.Effect<Executor.Liveness> =>
  Effect.sync(() => {
    // a queued job's waiter is its supervisor too
    const supervisor = state.started ?? state.queued
    if (supervisor === null) return "alive"
    return Proc.isAlive(supervisor.supervisorPid, supervisor.supervisorStartTime, supervisor.bootId) ? "alive" : "dead"
  })

const requestStop = (state: JobState.JobState): Effect.Effect<void> =>
  Effect.sync(() => {
    const started = state.started ?? state.queued
    if (started === null) return
    // signal only the process that is still our supervisor: never a pid the kernel has handed on
    if (!Proc.isAlive(started.supervisorPid, started.supervisorStartTime, started.bootId)) return
    try {
      process.kill(started.supervisorPid, "SIGTERM")
    } catch {
      // it ended in between: nothing to stop
    }
  })

export const groupAlive = (pgid: number): boolean => Proc.groupMembers(pgid).length > 0

/**
 * Sends `signal` to the process group of the command a Started event names, if that very command (pid, start time,
 * boot) still runs, then KILL to whatever is left once the grace is over. Says whether there was anything to stop.
 */
export const signalGroup = (
  started: { readonly pid: number; readonly pgid: number; readonly startTime: number; readonly bootId: string },
  signal: string,
  graceSecs: number
): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    if (!Proc.isAlive(started.pid, started.startTime, started.bootId)) return false
    const send = (sig: string) => {
      try {
        process.kill(-started.pgid, sig as NodeJS.Signals)
      } catch {
        // the group is gone
      }
    }
    send(signal)
    const deadline = Date.now() + graceSecs * 1000
    while (Date.now() < deadline && groupAlive(started.pgid)) yield* Effect.sleep("100 millis")
    if (groupAlive(started.pgid)) send("SIGKILL")
    return true
  })

/** For an interrupted job: stops what is left of its command (its supervisor is gone). */
export const stopOrphans = (state: JobState.JobState, signal: string, graceSecs: number): Effect.Effect<boolean> =>
  state.started === null ? Effect.succeed(false) : signalGroup(state.started, signal, graceSecs)

const failed = (launch: Executor.Launch, cause: unknown) =>
  new StartFailed({ job: launch.id, why: cause instanceof Error ? cause.message : String(cause) })

/** Spawns the supervisor detached and resolves once it runs (or fails to), without waiting for the job. */
const start = (launch: Executor.Launch): Effect.Effect<void, StartFailed> =>
  Effect.async<void, StartFailed>((resume) => {
    let child: ChildProcess.ChildProcess
    try {
      const script = Supervisor.install(launch.layout.bin)
      const { spec } = launch
      child = ChildProcess.spawn(
        "/bin/sh",
        [
          script,
          Supervisor.umaskArg(spec),
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
    } catch (cause) {
      return resume(Effect.fail(failed(launch, cause)))
    }
    // a missing /bin/sh is reported asynchronously: wait for one of the two outcomes
    child.once("error", (cause) => resume(Effect.fail(failed(launch, cause))))
    child.once("spawn", () => {
      child.unref()
      resume(Effect.void)
    })
  })

/**
 * Starts many supervisors through one small detached `sh` that forks them: a fork of sh costs a fraction of a
 * spawn from Node. Each supervisor reads its cwd and command from JOB_DIR/argv.
 */
const startMany = (launches: ReadonlyArray<Executor.Launch>): Effect.Effect<void, StartFailed> =>
  // a few hundred per launcher keeps its argument list far below the kernel's limit
  Effect.forEach(
    Array.from({ length: Math.ceil(launches.length / 400) }, (_, i) => launches.slice(i * 400, i * 400 + 400)),
    startChunk,
    { discard: true }
  )

const startChunk = (launches: ReadonlyArray<Executor.Launch>): Effect.Effect<void, StartFailed> =>
  Effect.async<void, StartFailed>((resume) => {
    const first = launches[0]
    if (first === undefined) return resume(Effect.void)
    let child: ChildProcess.ChildProcess
    try {
      const script = Supervisor.install(first.layout.bin)
      const args: Array<string> = []
      for (const { id, spec, paths } of launches) {
        Supervisor.writeArgv(paths.dir, spec.cwd, spec.command)
        args.push(
          Supervisor.umaskArg(spec),
          paths.dir,
          id,
          String(spec.timeoutSecs === null ? 0 : Math.ceil(spec.timeoutSecs))
        )
        args.push(String(Math.ceil(spec.graceSecs)))
      }
      const loop = 's=$1; shift; while [ "$#" -ge 5 ]; do sh "$s" "$1" "$2" "$3" "$4" "$5" - -- & shift 5; done'
      child = ChildProcess.spawn("/bin/sh", ["-c", loop, "sh", script, ...args], {
        detached: true,
        stdio: "ignore",
        cwd: "/",
        env: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", LC_ALL: "C" }
      })
    } catch (cause) {
      return resume(Effect.fail(failed(first, cause)))
    }
    child.once("error", (cause) => resume(Effect.fail(failed(first, cause))))
    child.once("spawn", () => {
      child.unref()
      resume(Effect.void)
    })
  })

/** The local executor. */
export const executor: Executor.Executor = {
  kind: "local",
  start,
  startMany,
  liveness,
  requestStop,
  stopOrphans,
  release: () => Effect.void
}
