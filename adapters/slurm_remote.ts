// Slurm through an SSH worker that is a login node: the ssh executor prepares the job there (push, supervisor, env,
// argv) and sbatch launches it instead of tmux; events and output are mirrored home as for any SSH job, and
// sbatch, scontrol and scancel run on the worker over the same SSH stack.

import * as Effect from "effect/Effect"
import { StartFailed, Unavailable } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as Home from "../core/home.ts"
import * as JobState from "../core/job_state.ts"
import * as Shell from "../core/shell.ts"
import { EventLog } from "../events/mod.ts"
import * as Proc from "./proc.ts"
import * as Slurm from "./slurm.ts"
import * as SlurmExecutor from "./slurm_executor.ts"
import * as SshExecutor from "./ssh_executor.ts"
import * as Mux from "./ssh_mux.ts"

const q = Shell.quote

/** Runs one shell command on a worker: its stdout, or the error (its stderr) it failed with. */
const onWorker = async (
  layout: Home.Layout,
  workerName: string | null,
  command: string
): Promise<{ readonly ok: boolean; readonly stdout: string; readonly stderr: string }> => {
  const worker = SshExecutor.workerOf(layout, workerName)
  if (worker === undefined) throw new Error(`no worker "${workerName ?? "(default)"}"`)
  const client = await Mux.open(layout, worker, { timeoutMs: 5000 })
  try {
    return { ok: true, stdout: await SshExecutor.run(client, command), stderr: "" }
  } catch (e) {
    return { ok: false, stdout: "", stderr: e instanceof Error ? e.message : String(e) }
  } finally {
    client.end()
  }
}

/** Whether the worker has Slurm's tools; a worker that cannot be reached is left to the start to report. */
export const check = (layout: Home.Layout, workerName: string): Effect.Effect<void, Unavailable> =>
  Effect.promise(() =>
    onWorker(
      layout,
      workerName,
      `for t in ${Slurm.TOOLS.join(" ")}; do command -v "$t" >/dev/null 2>&1 || printf '%s ' "$t"; done; echo`
    ).catch(() => undefined)
  ).pipe(
    Effect.flatMap((r) => {
      const missing =
        r?.ok === true
          ? r.stdout
              .trim()
              .split(/\s+/)
              .filter((t) => t !== "")
          : []
      return missing.length === 0
        ? Effect.void
        : Effect.fail(
            new Unavailable({ executor: "Slurm", why: Slurm.missingText(missing, `on worker "${workerName}"`) })
          )
    })
  )

/** The command that writes the batch script on the worker and submits it; it prints sbatch's answer. */
const viaSbatch = (launch: Executor.Launch, where: SshExecutor.RemoteJob, remoteHome: string): string => {
  const batch = `${where.jobDir}/slurm.sh`
  const text = Slurm.batchScript({
    supervisor: where.script,
    jobDir: where.jobDir,
    id: q(launch.id),
    timeoutSecs: launch.spec.timeoutSecs,
    graceSecs: launch.spec.graceSecs
  })
  const options = Slurm.sbatchOptions(launch.spec, Slurm.jobName(launch.id, launch.spec.name)).map(q).join(" ")
  const output = Slurm.outputPath(remoteHome) === "/dev/null" ? "/dev/null" : `${where.jobDir}/slurm.out`
  return (
    // the batch script is private; sbatch runs under the login's umask, which Slurm gives the job (and the supervisor
    // gives the command)
    `_jumask=$(umask) && umask 077 && printf '%s' ${q(text)} > ${batch} && chmod 700 ${batch} && ` +
    `umask "$_jumask" && cd / && ` +
    `LC_ALL=C sbatch ${options} --output=${output} ${batch}`
  )
}

/** Prepares the job on the worker and submits it there. */
export const start = (launch: Executor.Launch) =>
  SshExecutor.start(launch, viaSbatch).pipe(
    Effect.flatMap((stdout) => {
      const slurmJobId = SlurmExecutor.parsedId(stdout)
      return slurmJobId === undefined
        ? Effect.fail(
            new StartFailed({ job: launch.id, why: `sbatch printed no job id: ${stdout.trim().slice(0, 200)}` })
          )
        : Effect.sync(() => SlurmExecutor.recordSubmitted(launch, slurmJobId))
    })
  )

const remoteQuery = async (layout: Home.Layout, state: JobState.JobState, slurmJobId: string) => {
  try {
    const r = await onWorker(layout, state.spec?.worker ?? null, `LC_ALL=C scontrol show job -o ${q(slurmJobId)}`)
    return Slurm.parseQuery(r.ok, r.stdout, r.stderr)
  } catch (e) {
    return { _tag: "Unreachable" as const, why: e instanceof Error ? e.message : String(e) }
  }
}

/**
 * What Slurm on the worker says of the job, then the worker's events and output mirrored home. Slurm is asked
 * first: once it says the job ended, the events mirrored after that hold the supervisor's end if it wrote one.
 */
export const observe = (layout: Home.Layout, state: JobState.JobState, paths: Home.JobPaths) =>
  Effect.gen(function* () {
    const id = state.slurmJobId
    const answer = id === null ? undefined : yield* Effect.promise(() => remoteQuery(layout, state, id))
    const mirrored = yield* SshExecutor.mirror(state, layout, paths)
    if (mirrored === "unknown" || answer?._tag === "Unreachable") {
      return { liveness: "unknown" as const, reason: null }
    }
    if (id === null || answer === undefined) {
      const now = yield* Effect.sync(() => JobState.fold(state.id, EventLog.replaySync(paths.eventsPath).events))
      // a push of its files still on its way from here is a submit not over yet
      const pushing = Proc.mentions(`/workdirs/${state.id}/`)
      if (JobState.isTerminal(now.status) || !Proc.abandoned(now) || pushing) {
        return { liveness: "alive" as const, reason: null }
      }
      const name = Slurm.jobName(state.id, state.spec?.name ?? null)
      const r = yield* Effect.promise(() =>
        onWorker(layout, state.spec?.worker ?? null, `LC_ALL=C squeue -h -o %i --name=${q(name)}`).catch(
          () => undefined
        )
      )
      return SlurmExecutor.unsubmitted(now, paths, () => (r?.ok === true ? r.stdout : undefined))
    }
    return SlurmExecutor.judge(state, paths, id, answer)
  })

/**
 * Stops the job on the worker: cancelled while Slurm holds it; once it runs, the worker's stop request is written
 * and its supervisor signalled (scancel --batch), then cancelled if Slurm still runs it after the grace.
 */
export const requestStop = (layout: Home.Layout, state: JobState.JobState, signal: string, graceSecs: number) =>
  Effect.gen(function* () {
    const id = state.slurmJobId
    const worker = SshExecutor.workerOf(layout, state.spec?.worker ?? null)
    if (id === null || worker === undefined) return
    const jobDir = SshExecutor.remotePath(worker.remoteHome, "jobs", state.id)
    const name = state.spec?.worker ?? null
    if (state.started === null) {
      yield* Effect.promise(() => onWorker(layout, name, `scancel ${q(id)}`).catch(() => undefined))
      return
    }
    // the stop request the worker's supervisor reads: `jobs stop` wrote it here, not on the worker
    const sig = signal.replace(/^SIG/, "").replace(/[^A-Z0-9]/g, "")
    const stop = `printf '%s %s\\n' ${sig} ${Math.ceil(graceSecs)} > ${jobDir}/stop`
    yield* Effect.promise(() =>
      onWorker(layout, name, `${stop}; scancel --batch --signal=TERM ${q(id)}`).catch(() => undefined)
    )
    yield* Effect.sleep(`${Math.ceil(graceSecs) + 5} seconds`)
    const answer = yield* Effect.promise(() => remoteQuery(layout, state, id))
    if (answer._tag === "Found" && !Slurm.isEnded(answer.job.jobState)) {
      yield* Effect.promise(() => onWorker(layout, name, `scancel ${q(id)}`).catch(() => undefined))
    }
  })

/** For an interrupted job: cancels it if Slurm on the worker still has it. */
export const stopOrphans = (layout: Home.Layout, state: JobState.JobState) =>
  Effect.gen(function* () {
    const id = state.slurmJobId
    if (id === null) return false
    const answer = yield* Effect.promise(() => remoteQuery(layout, state, id))
    if (answer._tag !== "Found" || Slurm.isEnded(answer.job.jobState)) return false
    yield* Effect.promise(() => onWorker(layout, state.spec?.worker ?? null, `scancel ${q(id)}`).catch(() => undefined))
    return true
  })

/** Whether Slurm on the worker still runs an interrupted job ("unknown": the worker cannot be reached). */
export const orphans = (layout: Home.Layout, state: JobState.JobState) =>
  Effect.gen(function* () {
    const id = state.slurmJobId
    if (id === null) return "dead" as const
    const answer = yield* Effect.promise(() => remoteQuery(layout, state, id))
    if (answer._tag === "Unreachable") return "unknown" as const
    return answer._tag === "Found" && !Slurm.isEnded(answer.job.jobState) ? ("alive" as const) : ("dead" as const)
  })
