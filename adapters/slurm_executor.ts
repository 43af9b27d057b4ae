// The slurm executor: sbatch a batch script that execs the supervisor inside the allocation, so a Slurm job has a
// local job's output file, exit code, signal handling and events. Slurm's side (the job id, why a job waits, an end
// the supervisor could not record) comes from sbatch and `scontrol show job -o` when the job is read. On an SSH
// worker that is a login node, the same happens over SSH (slurm_remote.ts, loaded only for such jobs).

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import { StartFailed, Unavailable } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as Home from "../core/home.ts"
import * as JobState from "../core/job_state.ts"
import * as Process from "../core/process.ts"
import * as Shell from "../core/shell.ts"
import { EventLog } from "../events/mod.ts"
import * as Proc from "./proc.ts"
import * as Slurm from "./slurm.ts"
import * as Supervisor from "./supervisor.ts"

const q = Shell.quote

interface Ran {
  readonly ok: boolean
  readonly stdout: string
  readonly stderr: string
}

/** Runs a Slurm tool (no shell): the user's environment, so SLURM_CONF and SBATCH_* defaults apply as usual. */
const tool = (command: string, args: ReadonlyArray<string>, input?: string): Ran => {
  const r = ChildProcess.spawnSync(command, args, {
    encoding: "utf8",
    cwd: "/",
    env: { ...process.env, LC_ALL: "C" },
    timeout: 60_000,
    ...(input === undefined ? { stdio: ["ignore", "pipe", "pipe"] } : { input })
  })
  const error = r.error === undefined ? "" : `${command}: ${r.error.message}`
  return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + error }
}

const executable = (path: string): boolean => {
  try {
    Fs.accessSync(path, Fs.constants.X_OK)
    return Fs.statSync(path).isFile()
  } catch {
    return false
  }
}

/** The Slurm tools not found on this PATH. */
export const missingTools = (pathVar = process.env.PATH ?? ""): Array<string> =>
  Slurm.TOOLS.filter((t) => !pathVar.split(":").some((dir) => dir !== "" && executable(Path.join(dir, t))))

/** The job id sbatch --parsable printed (`ID` or `ID;CLUSTER`). */
export const parsedId = (stdout: string): string | undefined => {
  const id = stdout.trim().split("\n").pop()?.split(";")[0]?.trim()
  return id !== undefined && /^\d+$/.test(id) ? id : undefined
}

/** Records the Slurm job id in the job's log (an event of a fixed id: written once per job). */
export const recordSubmitted = (launch: Executor.Launch, slurmJobId: string): void =>
  EventLog.appendSync(launch.paths.eventsPath, [
    {
      type: "SlurmSubmitted",
      v: 1,
      id: `${launch.id}.slurm`,
      job: launch.id,
      at: new Date().toISOString(),
      slurmJobId
    }
  ])

/** Writes the job's argv and batch script (JOB_DIR/slurm.sh) on this machine, and returns the script's path. */
const prepare = (launch: Executor.Launch): string => {
  const { spec, paths, id } = launch
  const supervisor = Supervisor.install(launch.layout.bin)
  Supervisor.writeArgv(paths.dir, spec.cwd, spec.command)
  const batch = Path.join(paths.dir, "slurm.sh")
  const text = Slurm.batchScript({
    supervisor: q(supervisor),
    jobDir: q(paths.dir),
    id: q(id),
    timeoutSecs: spec.timeoutSecs,
    graceSecs: spec.graceSecs,
    umask: q(Supervisor.umaskArg(spec))
  })
  Fs.writeFileSync(batch, text, { mode: 0o700 })
  return batch
}

const sbatchFailed = (r: Ran): string =>
  `sbatch failed: ${
    r.stderr
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .pop() ?? "no reason given"
  }`

const start = (launch: Executor.Launch): Effect.Effect<void, StartFailed> =>
  Effect.try({
    try: () => {
      const batch = prepare(launch)
      const options = Slurm.sbatchOptions(launch.spec, Slurm.jobName(launch.id, launch.spec.name))
      const output = Slurm.outputPath(Path.join(launch.paths.dir, "slurm.out"))
      const r = tool("sbatch", [...options, `--output=${output}`, batch])
      const slurmJobId = parsedId(r.stdout)
      if (!r.ok || slurmJobId === undefined) throw new Error(sbatchFailed(r))
      Process.testPause("sbatched")
      recordSubmitted(launch, slurmJobId)
    },
    catch: (e) => new StartFailed({ job: launch.id, why: e instanceof Error ? e.message : String(e) })
  })

/**
 * `jobs run --slurm --each`: one job array, whose element N runs the batch script of the Nth job. The jobs of a
 * batch share their flags, so the first one's sbatch options are everyone's.
 */
const startMany = (launches: ReadonlyArray<Executor.Launch>): Effect.Effect<void, StartFailed> => {
  const first = launches[0]
  if (first === undefined) return Effect.void
  if (launches.length === 1) return start(first)
  return Effect.try({
    try: () => {
      const scripts = launches.map((launch) => q(prepare(launch)))
      const options = Slurm.sbatchOptions(first.spec, Slurm.jobName(first.id, null))
      // sbatch reads the array's script from stdin; Slurm's own messages of the elements are not kept
      const array = [`--array=0-${launches.length - 1}`, "--output=/dev/null"]
      const r = tool("sbatch", [...options, ...array], Slurm.arrayScript(scripts))
      const arrayId = parsedId(r.stdout)
      if (!r.ok || arrayId === undefined) throw new Error(sbatchFailed(r))
      for (const [i, launch] of launches.entries()) recordSubmitted(launch, `${arrayId}_${i}`)
    },
    catch: (e) => new StartFailed({ job: first.id, why: e instanceof Error ? e.message : String(e) })
  })
}

/** `scontrol show job -o ID` on this machine. */
export const query = (slurmJobId: string): Slurm.Query => {
  const r = tool("scontrol", ["show", "job", "-o", slurmJobId])
  return Slurm.parseQuery(r.ok, r.stdout, r.stderr)
}

/** Appends an event unless another reader already did: a marker file created with O_EXCL names the one writer. */
const recordOnce = (paths: Home.JobPaths, event: Parameters<typeof EventLog.appendSync>[1][number]): void => {
  try {
    Fs.closeSync(Fs.openSync(Path.join(paths.dir, ".slurm-ended"), "wx", 0o600))
  } catch {
    return
  }
  EventLog.appendSync(paths.eventsPath, [event])
}

/**
 * Judges a job from what Slurm said of it: pending (with Slurm's reason) or running while Slurm holds it; once Slurm
 * is done with it, the log is read again (the supervisor records its own end first) and, when the end is missing,
 * Slurm's is recorded (SlurmEnded; Interrupted when Slurm has forgotten the job).
 */
export const judge = (
  state: JobState.JobState,
  paths: Home.JobPaths,
  slurmJobId: string,
  answer: Slurm.Query
): { readonly liveness: Executor.Liveness; readonly reason: string | null } => {
  if (answer._tag === "Unreachable") return { liveness: "unknown", reason: null }
  if (answer._tag === "Found" && !Slurm.isEnded(answer.job.jobState)) {
    return { liveness: "alive", reason: answer.job.jobState === "PENDING" ? answer.job.reason : null }
  }
  const now = JobState.fold(state.id, EventLog.replaySync(paths.eventsPath).events)
  if (JobState.isTerminal(now.status)) return { liveness: "dead", reason: null }
  const at = new Date().toISOString()
  recordOnce(
    paths,
    answer._tag === "Found" ? Slurm.endedEvent(now, slurmJobId, answer.job, at) : Slurm.goneEvent(now, slurmJobId, at)
  )
  return { liveness: "dead", reason: null }
}

/**
 * A job with no Slurm id recorded: sbatch has not answered yet, or its submitter died before it could record the id.
 * Once the submitter can no longer record it (Proc.abandoned), Slurm is asked for a job of the job's name: one found
 * is adopted (its id recorded, so that it can be stopped and judged as usual); none, for a job that never started,
 * means sbatch never took it, and it is recorded once as never started. `squeue` is what asks (its stdout), undefined when Slurm cannot be asked now.
 */
export const unsubmitted = (
  state: JobState.JobState,
  paths: Home.JobPaths,
  squeue: (name: string) => string | undefined
): { readonly liveness: Executor.Liveness; readonly reason: string | null } => {
  if (!Proc.abandoned(state)) return { liveness: "alive", reason: null }
  const answer = squeue(Slurm.jobName(state.id, state.spec?.name ?? null))
  const ids = answer === undefined ? undefined : Slurm.parseIds(answer)
  // a job that runs (its Started is here) and that Slurm no longer lists has ended or will record its end itself
  if (ids === undefined || (ids.length === 0 && state.started !== null)) {
    return { liveness: state.started === null ? "unknown" : "alive", reason: null }
  }
  const found = ids[0]
  if (found !== undefined) {
    EventLog.appendSync(paths.eventsPath, [
      {
        type: "SlurmSubmitted",
        v: 1,
        id: `${state.id}.slurm`,
        job: state.id,
        at: new Date().toISOString(),
        slurmJobId: found
      }
    ])
    return { liveness: "alive", reason: null }
  }
  // its supervisor may have written Started since the log was read
  const now = JobState.fold(state.id, EventLog.replaySync(paths.eventsPath).events)
  if (now.started !== null || JobState.isTerminal(now.status)) return { liveness: "alive", reason: null }
  recordOnce(paths, Slurm.neverSubmittedEvent(state, new Date().toISOString()))
  return { liveness: "dead", reason: null }
}

const observeLocal = (state: JobState.JobState, paths: Home.JobPaths) =>
  Effect.sync(() =>
    state.slurmJobId === null
      ? unsubmitted(state, paths, (name) => {
          const r = tool("squeue", ["-h", "-o", "%i", `--name=${name}`])
          return r.ok ? r.stdout : undefined
        })
      : judge(state, paths, state.slurmJobId, query(state.slurmJobId))
  )

/**
 * Stops a Slurm job: one Slurm still holds is cancelled; a running one has its supervisor signalled (scancel
 * --batch), which carries the stop out as for a local job (the signal and grace of the stop request) and records
 * its end; if Slurm still runs it after the grace, it is cancelled.
 */
const requestStopLocal = (state: JobState.JobState, _signal: string, graceSecs: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    const id = state.slurmJobId
    if (id === null) return
    if (state.started === null) return void tool("scancel", [id])
    tool("scancel", ["--batch", "--signal=TERM", id])
    yield* Effect.sleep(`${Math.ceil(graceSecs) + 5} seconds`)
    const answer = query(id)
    if (answer._tag === "Found" && !Slurm.isEnded(answer.job.jobState)) tool("scancel", [id])
  })

const stopOrphansLocal = (state: JobState.JobState): Effect.Effect<boolean> =>
  Effect.sync(() => {
    const id = state.slurmJobId
    if (id === null) return false
    const answer = query(id)
    if (answer._tag !== "Found" || Slurm.isEnded(answer.job.jobState)) return false
    tool("scancel", [id])
    return true
  })

const checkLocal = (): Effect.Effect<void, Unavailable> =>
  Effect.suspend(() => {
    const missing = missingTools()
    return missing.length === 0
      ? Effect.void
      : Effect.fail(new Unavailable({ executor: "Slurm", why: Slurm.missingText(missing, "on PATH") }))
  })

type Remote = typeof import("./slurm_remote.ts")
const remote = Effect.promise((): Promise<Remote> => import("./slurm_remote.ts"))

/** The slurm executor of a home: on this machine, or through the job's SSH worker when it names one. */
export const make = (layout: Home.Layout): Executor.Executor => {
  const onWorker = (state: JobState.JobState) => (state.spec?.worker ?? null) !== null
  return {
    kind: "slurm",
    stopsPending: true,
    check: (spec) =>
      spec.worker === null ? checkLocal() : Effect.flatMap(remote, (r) => r.check(layout, spec.worker ?? "")),
    start: (launch) => (launch.spec.worker === null ? start(launch) : Effect.flatMap(remote, (r) => r.start(launch))),
    startMany: (launches) =>
      launches.every((l) => l.spec.worker === null)
        ? startMany(launches)
        : Effect.flatMap(remote, (r) => Effect.forEach(launches, r.start, { discard: true })),
    observe: (state, paths) =>
      onWorker(state) ? Effect.flatMap(remote, (r) => r.observe(layout, state, paths)) : observeLocal(state, paths),
    liveness: () => Effect.succeed("alive"),
    requestStop: (state, signal, graceSecs) =>
      onWorker(state)
        ? Effect.flatMap(remote, (r) => r.requestStop(layout, state, signal, graceSecs))
        : requestStopLocal(state, signal, graceSecs),
    orphans: (state) =>
      onWorker(state)
        ? Effect.flatMap(remote, (r) => r.orphans(layout, state))
        : Effect.sync(() => {
            const answer = state.slurmJobId === null ? undefined : query(state.slurmJobId)
            if (answer === undefined) return "dead" as const
            if (answer._tag === "Unreachable") return "unknown" as const
            return answer._tag === "Found" && !Slurm.isEnded(answer.job.jobState)
              ? ("alive" as const)
              : ("dead" as const)
          }),
    stopOrphans: (state) =>
      onWorker(state) ? Effect.flatMap(remote, (r) => r.stopOrphans(layout, state)) : stopOrphansLocal(state),
    release: () => Effect.void
  }
}
