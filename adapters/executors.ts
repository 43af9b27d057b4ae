// The executors this build ships, as the Executors service. The ssh and slurm executors (and ssh2 with them) are
// loaded only when a job uses them: they would otherwise cost every command its start-up time.
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Executor from "../core/executor.ts"
import { Executors } from "../core/executor.ts"
import * as Home from "../core/home.ts"
import * as LocalExecutor from "./local_executor.ts"
import * as TmuxExecutor from "./tmux_executor.ts"

const lazySsh = (layout: Home.Layout): Executor.Executor => {
  const load = Effect.promise(() => import("./ssh_executor.ts")).pipe(Effect.map((m) => m.make(layout)))
  return {
    kind: "ssh",
    start: (launch) => Effect.flatMap(load, (e) => e.start(launch)),
    liveness: (state) => Effect.flatMap(load, (e) => e.liveness(state)),
    requestStop: (state, signal, grace) => Effect.flatMap(load, (e) => e.requestStop(state, signal, grace)),
    stopOrphans: (state, signal, grace) => Effect.flatMap(load, (e) => e.stopOrphans(state, signal, grace)),
    release: (state, l) => Effect.flatMap(load, (e) => e.release(state, l)),
    mirror: (state, paths) => Effect.flatMap(load, (e) => e.mirror!(state, paths)),
    follow: (state, paths) => Effect.flatMap(load, (e) => e.follow!(state, paths)),
    attach: (state) => Effect.flatMap(load, (e) => e.attach!(state)),
    removeRemote: (state) => Effect.flatMap(load, (e) => e.removeRemote!(state))
  }
}

// a GPU job: its keeper is spawned and mirrored from here; the provider clients stay in the gpu bundle
const lazyGpu = (layout: Home.Layout): Executor.Executor => {
  const load = Effect.promise(() => import("./gpu/executor.ts")).pipe(Effect.map((m) => m.make(layout)))
  return {
    kind: "gpu",
    start: (launch) => Effect.flatMap(load, (e) => e.start(launch)),
    liveness: (state) => Effect.flatMap(load, (e) => e.liveness(state)),
    requestStop: (state, signal, grace) => Effect.flatMap(load, (e) => e.requestStop(state, signal, grace)),
    stopOrphans: (state, signal, grace) => Effect.flatMap(load, (e) => e.stopOrphans(state, signal, grace)),
    release: (state, l) => Effect.flatMap(load, (e) => e.release(state, l)),
    mirror: (state, paths) => Effect.flatMap(load, (e) => e.mirror!(state, paths)),
    follow: (state, paths) => Effect.flatMap(load, (e) => e.follow!(state, paths)),
    attach: (state) => Effect.flatMap(load, (e) => e.attach!(state)),
    removeRemote: (state) => Effect.flatMap(load, (e) => e.removeRemote!(state))
  }
}

// Slurm's executor loads on first use too (and its SSH half only for a job on a worker)
const lazySlurm = (layout: Home.Layout): Executor.Executor => {
  const load = Effect.promise(() => import("./slurm_executor.ts")).pipe(Effect.map((m) => m.make(layout)))
  return {
    kind: "slurm",
    stopsPending: true,
    check: (spec, l) => Effect.flatMap(load, (e) => e.check!(spec, l)),
    start: (launch) => Effect.flatMap(load, (e) => e.start(launch)),
    startMany: (launches) => Effect.flatMap(load, (e) => e.startMany!(launches)),
    observe: (state, paths) => Effect.flatMap(load, (e) => e.observe!(state, paths)),
    liveness: (state) => Effect.flatMap(load, (e) => e.liveness(state)),
    requestStop: (state, signal, grace) => Effect.flatMap(load, (e) => e.requestStop(state, signal, grace)),
    stopOrphans: (state, signal, grace) => Effect.flatMap(load, (e) => e.stopOrphans(state, signal, grace)),
    release: (state, l) => Effect.flatMap(load, (e) => e.release(state, l))
  }
}

const registry = (all: ReadonlyArray<Executor.Executor>): Executors["Type"] => ({
  get: (kind) => all.find((e) => e.kind === kind),
  kinds: all.map((e) => e.kind)
})

/** The executors that need nothing but this machine (the start-up fast path uses these). */
export const executors: Executors["Type"] = registry([LocalExecutor.executor, TmuxExecutor.executor])

/** Every executor of this build for a home, ssh, gpu and slurm included. */
export const forHome = (home: string): Executors["Type"] =>
  registry([
    LocalExecutor.executor,
    TmuxExecutor.executor,
    lazySsh(Home.layout(home)),
    lazyGpu(Home.layout(home)),
    lazySlurm(Home.layout(home))
  ])

/** Every executor of this build, as a layer. */
export const layer = (home: string): Layer.Layer<Executors> => Layer.succeed(Executors, forHome(home))
