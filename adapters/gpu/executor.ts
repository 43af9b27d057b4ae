// The gpu executor: the intent is logged, then a detached keeper (`jobs __gpu-keeper ID`, in the gpu bundle) gets
// an instance, runs the job on it with the ssh executor and releases it; `jobs run` returns at once. While the
// keeper lives it alone mirrors the remote log (two mirrors would double the output); without it, the instance
// is reached directly, and a job left with neither is recorded as interrupted. No HTTP here: this module is
// loaded by the main CLI.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import { InvalidInput, StartFailed } from "../../core/errors.ts"
import type * as Executor from "../../core/executor.ts"
import type * as Home from "../../core/home.ts"
import * as Ids from "../../core/ids.ts"
import * as JobState from "../../core/job_state.ts"
import * as Provider from "../../core/provider.ts"
import * as Workers from "../../core/workers.ts"
import type { Event } from "../../events/mod.ts"
import { EventLog } from "../../events/mod.ts"
import * as Helper from "../helper.ts"
import * as Proc from "../proc.ts"

/** The keeper of a job: its pid, start time and boot, in the job's folder. */
export const keeperFile = (dir: string) => Path.join(dir, "keeper")

/** The keeper's pid if it still runs, else undefined. */
export const liveKeeper = (dir: string): number | undefined => {
  try {
    const [pid, start, boot] = Fs.readFileSync(keeperFile(dir), "utf8").trim().split(" ")
    return Proc.isAlive(Number(pid), Number(start), boot ?? "") ? Number(pid) : undefined
  } catch {
    return undefined
  }
}

/** Starts the keeper of a job, detached; its pid file is written here so that no reader ever sees a job without one. */
export const spawnKeeper = (layout: Home.Layout, id: string): number => {
  const dir = Path.join(layout.jobs, id)
  const log = Fs.openSync(Path.join(dir, "keeper.log"), "a", 0o600)
  try {
    const child = ChildProcess.spawn(process.execPath, ["--", Helper.bin(), "__gpu-keeper", id], {
      detached: true,
      stdio: ["ignore", log, log],
      cwd: "/",
      env: { ...process.env, JOBS_HOME: layout.home }
    })
    child.unref()
    const pid = child.pid
    if (pid === undefined) throw new Error("the keeper could not be started")
    Fs.writeFileSync(keeperFile(dir), `${pid} ${Proc.stat(pid)?.startTime ?? 0} ${Proc.bootId()}\n`, { mode: 0o600 })
    return pid
  } finally {
    Fs.closeSync(log)
  }
}

const start = (launch: Executor.Launch): Effect.Effect<void, StartFailed> =>
  Effect.try({
    try: () => {
      const gpu = launch.spec.gpu
      if (gpu === undefined || gpu === null) throw new Error("the spec has no gpu part")
      // the intent, before any provider is called: a crash from here on leaves a trace a sweep can follow
      EventLog.appendSync(launch.paths.eventsPath, [
        {
          type: "ProvisionRequested",
          v: 1,
          id: Ids.make(),
          job: launch.id,
          at: new Date().toISOString(),
          query: gpu.query
        }
      ])
      spawnKeeper(launch.layout, launch.id)
    },
    catch: (e) => new StartFailed({ job: launch.id, why: e instanceof Error ? e.message : String(e) })
  })

/**
 * Refuses at submit a GPU job that no provider could be asked for: none of its providers has an API key in this
 * environment (the keeper gets this very environment).
 */
const check = (spec: Event.JobSpec): Effect.Effect<void, InvalidInput> => {
  const gpu = spec.gpu
  if (gpu === undefined || gpu === null) {
    return Effect.fail(new InvalidInput({ message: "Cannot run job on a GPU: the spec has no gpu part" }))
  }
  const wanted = (
    gpu.instance === undefined || gpu.instance === null ? gpu.query.providers : [gpu.instance.provider]
  ).filter(Provider.isProviderName)
  const variables = wanted.map(Provider.keyVariable)
  return variables.some((v) => (process.env[v] ?? "") !== "")
    ? Effect.void
    : Effect.fail(
        new InvalidInput({
          message: `Cannot run job on a GPU: no API key is set (${variables.join(", ") || "no known provider"})`
        })
      )
}

const ssh = Effect.promise(() => import("../ssh_executor.ts"))

/** Without a keeper: reach the instance directly, or record that nobody will. */
const mirror = (layout: Home.Layout, state: JobState.JobState, paths: Home.JobPaths) =>
  Effect.gen(function* () {
    if (liveKeeper(paths.dir) !== undefined) return "alive" as const
    // the submit is under way: its keeper is about to be spawned (a killed submitter is judged once it is gone)
    if (!Fs.existsSync(keeperFile(paths.dir)) && !Proc.abandoned(state)) return "alive" as const
    if (state.instances.length > 0 && Workers.ofGpuJob(layout, state.id) !== undefined) {
      return yield* Effect.flatMap(ssh, (m) => m.mirror(state, layout, paths))
    }
    // no instance and nobody to get one: the job will never run
    const again = EventLog.replaySync(paths.eventsPath).events
    if (!again.some((e) => JobState.ENDINGS.has(e.type))) {
      EventLog.appendSync(paths.eventsPath, [
        {
          type: "Interrupted",
          v: 1,
          id: Ids.make(),
          job: state.id,
          at: new Date().toISOString(),
          reason: !Fs.existsSync(keeperFile(paths.dir))
            ? `never started: no keeper took it up (submitted by pid ${state.submitter?.pid ?? "?"})`
            : state.instances.length > 0
              ? "the keeper of the GPU job is gone and its instance cannot be reached"
              : "the keeper of the GPU job is gone before it had an instance"
        }
      ])
    }
    return "dead" as const
  })

/**
 * Follows a GPU job: while it has no instance yet, its log is watched; once it has one, the instance is followed
 * like any worker (mirrors are safe side by side with the keeper's: events under a lock, output positional).
 */
const follow = (layout: Home.Layout, state: JobState.JobState, paths: Home.JobPaths) =>
  Effect.gen(function* () {
    for (;;) {
      const now = JobState.fold(state.id, EventLog.replaySync(paths.eventsPath).events)
      if (JobState.isTerminal(now.status)) return
      if (now.instances.length > 0 && Workers.ofGpuJob(layout, state.id) !== undefined) {
        return yield* Effect.flatMap(ssh, (m) => m.follow(now, layout, paths))
      }
      if (liveKeeper(paths.dir) === undefined) return
      yield* Effect.sleep("250 millis")
    }
  })

/** Whether a job started on an instance that is still held and can be reached over ssh. */
const instanceOf = (layout: Home.Layout, state: JobState.JobState): boolean =>
  state.started !== null && state.instances.length > 0 && Workers.ofGpuJob(layout, state.id) !== undefined

/** The gpu executor of a home. */
export const make = (layout: Home.Layout): Executor.Executor => ({
  kind: "gpu",
  start,
  check,
  // the keeper downloads and releases the instance after the end, then exits: its exit is the job's settling
  settled: (_state, paths) => Effect.sync(() => liveKeeper(paths.dir) === undefined),
  // asked of a job nothing on the instance has taken up: its keeper starts it; without one, what it launched may
  liveness: (state) =>
    Effect.suspend(() => {
      const dir = Path.join(layout.jobs, state.id)
      if (liveKeeper(dir) !== undefined) return Effect.succeed("alive" as const)
      if (!Fs.existsSync(keeperFile(dir)) && !Proc.abandoned(state)) return Effect.succeed("alive" as const)
      return state.instances.length > 0 && Workers.ofGpuJob(layout, state.id) !== undefined
        ? Effect.flatMap(ssh, (m) => m.mayStart(state, layout))
        : Effect.succeed("dead" as const)
    }),
  requestStop: (state, signal, graceSecs) =>
    state.started === null ? Effect.void : Effect.flatMap(ssh, (m) => m.requestStop(state, signal, graceSecs, layout)),
  // the instance runs the same supervisor over ssh: what is left of the command is found and stopped there
  stopOrphans: (state, signal, graceSecs) =>
    instanceOf(layout, state)
      ? Effect.flatMap(ssh, (m) => m.stopOrphans(state, signal, graceSecs, layout))
      : Effect.succeed(false),
  orphans: (state) =>
    instanceOf(layout, state) ? Effect.flatMap(ssh, (m) => m.orphans(state, layout)) : Effect.succeed("dead" as const),
  release: () => Effect.void,
  mirror: (state, paths) => mirror(layout, state, paths),
  follow: (state, paths) => follow(layout, state, paths),
  attach: (state) =>
    state.instances.length === 0
      ? Effect.fail("it has no instance (any more): jobs logs shows its output")
      : Effect.flatMap(ssh, (m) => m.attach(state, layout)),
  // an instance that is gone took the job's remote files with it
  removeRemote: (state) =>
    state.instances.length === 0 ? Effect.void : Effect.flatMap(ssh, (m) => m.removeRemote(state, layout))
})
