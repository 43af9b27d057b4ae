// The Executor port: what every kind of executor (local, tmux, ssh, gpu, slurm) does for a job.
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Event } from "../events/mod.ts"
import type { InvalidInput, StartFailed, Unavailable } from "./errors.ts"
import type * as Home from "./home.ts"
import type * as JobState from "./job_state.ts"

/** What an executor needs to start a job. */
export interface Launch {
  readonly id: string
  readonly spec: Event.JobSpec
  readonly paths: Home.JobPaths
  readonly layout: Home.Layout
  /** Push the cwd to a remote worker first (default true; ignored by local executors). */
  readonly sync?: boolean
  /** Hears how a long push goes (a line to show), and null when it is over. */
  readonly onProgress?: (text: string | null) => void
}

/** Liveness of a job's supervisor. `unknown` when it cannot be told right now (an unreachable host). */
export type Liveness = "alive" | "dead" | "unknown"

/** One kind of executor. */
export interface Executor {
  readonly kind: string
  /** Starts the job's supervisor and returns without waiting for the command. */
  readonly start: (launch: Launch) => Effect.Effect<void, StartFailed>
  /** Starts many jobs at once, cheaper than one by one (optional: `start` each otherwise). */
  readonly startMany?: (launches: ReadonlyArray<Launch>) => Effect.Effect<void, StartFailed>
  /**
   * Whether the supervisor that wrote the job's Started event still runs. For a job that no supervisor has taken up
   * yet (no Started, no Queued): whether one still may, "dead" once nothing can start it any more (its submitter or
   * keeper is gone and nothing it launched is on its way): the job is then recorded as never started.
   */
  readonly liveness: (state: JobState.JobState) => Effect.Effect<Liveness>
  /**
   * Makes a running job stop: `signal` to its whole process group, KILL after `graceSecs`. The local supervisor
   * does this itself when signalled (reading the stop request in the job's folder); a supervisor that cannot (in a
   * tmux pane it is blocked in `fg`) leaves it to this call, which then lasts up to the grace.
   */
  readonly requestStop: (state: JobState.JobState, signal: string, graceSecs: number) => Effect.Effect<void>
  /**
   * For remote executors: brings the remote events and output into the local files, and says whether the remote
   * supervisor lives (`unknown` when the worker cannot be reached).
   */
  readonly mirror?: (state: JobState.JobState, paths: Home.JobPaths) => Effect.Effect<Liveness>
  /**
   * For remote executors: keeps the local events and output in step with the remote ones (one open connection,
   * streamed) until the job has ended; a dropped connection is opened again and resumes from the byte offsets
   * the local files hold. Interrupting it stops following.
   */
  readonly follow?: (state: JobState.JobState, paths: Home.JobPaths) => Effect.Effect<void>
  /**
   * For executors whose jobs run in a terminal elsewhere: puts this process's terminal into the job's session
   * (window size changes forwarded) until the user detaches or the session ends. Fails with why it cannot.
   */
  readonly attach?: (state: JobState.JobState) => Effect.Effect<void, string>
  /**
   * For remote executors: deletes what the job left on the remote side (its folder and work dir there, and its
   * session). Fails with why when that side cannot be reached, so that nothing is forgotten half-way.
   */
  readonly removeRemote?: (state: JobState.JobState) => Effect.Effect<void, string>
  /**
   * For a job behind a scheduler (Slurm): what the scheduler says of it now. It brings remote events home first (as
   * `mirror` does), records once an end the scheduler saw but the supervisor could not write, and says why a job
   * that has not started is held (`reason`: Resources, Priority, ...). Used instead of `mirror` and `liveness`.
   */
  readonly observe?: (
    state: JobState.JobState,
    paths: Home.JobPaths
  ) => Effect.Effect<{ readonly liveness: Liveness; readonly reason: string | null }>
  /**
   * For executors with work after the command's end (a GPU job's downloads and the release of its instance): whether
   * that work is over. `wait` returns only then. Absent: an ended job is settled.
   */
  readonly settled?: (state: JobState.JobState, paths: Home.JobPaths) => Effect.Effect<boolean>
  /** Whether `requestStop` must also be called for a job that has not started (a scheduler holds it in its queue). */
  readonly stopsPending?: boolean
  /**
   * Checks, before anything of the job is written, that this executor can start it: its tools are there
   * (Unavailable), and what the job needs and can be known now is (InvalidInput: a command not found in the job's
   * PATH, no API key). `env` is the job's environment.
   */
  readonly check?: (
    spec: Event.JobSpec,
    layout: Home.Layout,
    env: Readonly<Record<string, string>>
  ) => Effect.Effect<void, Unavailable | InvalidInput>
  /** Releases what the job holds once it is removed (a tmux session left on its done screen). */
  readonly release: (state: JobState.JobState, layout: Home.Layout) => Effect.Effect<void>
  /**
   * For a job whose supervisor is gone (interrupted): sends `signal` to the command's process group if the command
   * still runs, then KILL after the grace, and says whether there was anything to stop.
   */
  readonly stopOrphans: (state: JobState.JobState, signal: string, graceSecs: number) => Effect.Effect<boolean>
  /**
   * For a job whose supervisor is gone (interrupted): whether what is left of its command still runs, by the same
   * check `stopOrphans` makes before it signals ("unknown": its host cannot be reached). Absent: nothing is ever left.
   */
  readonly orphans?: (state: JobState.JobState) => Effect.Effect<Liveness>
}

/** The executors this program knows, by kind; the choice is made from the job spec, here and nowhere else. */
export class Executors extends Context.Tag("jobs/Executors")<
  Executors,
  { readonly get: (kind: string) => Executor | undefined; readonly kinds: ReadonlyArray<string> }
>() {}
