// The local executor: the supervisor as a detached process on this machine (its own session, stdio closed).

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import { InvalidInput, StartFailed } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as JobState from "../core/job_state.ts"
import type { Event } from "../events/mod.ts"
import * as Proc from "./proc.ts"
import * as Supervisor from "./supervisor.ts"

/**
 * Whether a job that no supervisor has taken up (no Started, no Queued) never will: its submitter can no longer start
 * it (Proc.abandoned), and no process was started for it.
 */
const neverStarted = (state: JobState.JobState): boolean => Proc.abandoned(state) && !Proc.launches(state.id)

export const liveness = (state: JobState.JobState): Effect.Effect<Executor.Liveness> =>
  Effect.sync(() => {
    // a queued job's waiter is its supervisor too
    const supervisor = state.started ?? state.queued
    if (supervisor === null) return neverStarted(state) ? "dead" : "alive"
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

/**
 * Sends `signal` to the process group of job `id`'s command while it still holds a process of the job (its leader, or
 * a member whose environment names the job: see Proc.jobGroup), then KILL to whatever is left once the grace is over.
 * Says whether there was anything to stop.
 */
export const signalGroup = (
  started: Proc.Leader,
  id: string,
  signal: string,
  graceSecs: number
): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const alive = () => Proc.jobGroup(started, id).length > 0
    if (!alive()) return false
    const send = (sig: string) => {
      try {
        process.kill(-started.pgid, sig as NodeJS.Signals)
      } catch {
        // the group is gone
      }
    }
    send(signal)
    const deadline = Date.now() + graceSecs * 1000
    while (Date.now() < deadline && alive()) yield* Effect.sleep("100 millis")
    if (alive()) send("SIGKILL")
    return true
  })

/** For an interrupted job: stops what is left of its command (its supervisor is gone). */
export const stopOrphans = (state: JobState.JobState, signal: string, graceSecs: number): Effect.Effect<boolean> =>
  state.started === null ? Effect.succeed(false) : signalGroup(state.started, state.id, signal, graceSecs)

/** Whether what is left of an interrupted job's command still runs (see Proc.jobGroup). */
export const orphans = (state: JobState.JobState): Effect.Effect<Executor.Liveness> =>
  Effect.sync(() => (state.started !== null && Proc.jobGroup(state.started, state.id).length > 0 ? "alive" : "dead"))

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

/** The PATH `sh` searches when the job's environment sets none (dash's default). */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const isExecutableFile = (path: string): boolean => {
  try {
    if (!Fs.statSync(path).isFile()) return false
    Fs.accessSync(path, Fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Refuses, before anything is written, a command this machine cannot run: a program found nowhere in the job's PATH,
 * or a path (`./train`, `bin/x`, `/opt/x`, relative to the job's cwd) that is not an executable file. The command
 * is looked up exactly as the supervisor's `exec` will; a shell line (`sh -c '...'`) is the shell's business.
 */
export const checkCommand = (
  spec: Event.JobSpec,
  _layout: unknown,
  env: Readonly<Record<string, string>>
): Effect.Effect<void, InvalidInput> => {
  const program = spec.command[0] ?? ""
  if (program.includes("/")) {
    return isExecutableFile(Path.resolve(spec.cwd, program))
      ? Effect.void
      : Effect.fail(
          new InvalidInput({
            message: `Cannot run job: "${program}" is not an executable file${program.startsWith("/") ? "" : ` in ${spec.cwd}`}`
          })
        )
  }
  const dirs = (env.PATH ?? DEFAULT_PATH).split(":")
  return dirs.some((dir) => isExecutableFile(Path.resolve(spec.cwd, dir === "" ? "." : dir, program)))
    ? Effect.void
    : Effect.fail(
        new InvalidInput({
          message: `Cannot run job: command "${program}" not found in PATH (a shell line runs as: sh -c '...')`
        })
      )
}

/** The local executor. */
export const executor: Executor.Executor = {
  kind: "local",
  start,
  startMany,
  liveness,
  requestStop,
  stopOrphans,
  orphans,
  check: checkCommand,
  release: () => Effect.void
}
