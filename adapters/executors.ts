// The executors this build ships, as the Executors service. The ssh and slurm executors (and ssh2 with them) are
// loaded only when a job uses them: they would otherwise cost every command its start-up time.
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Executor from "../core/executor.ts"
import { Executors } from "../core/executor.ts"
import * as Home from "../core/home.ts"
import * as LocalExecutor from "./local_executor.ts"
import * as TmuxExecutor from "./tmux_executor.ts"

/** The optional parts of the port a loaded executor has (the wrapper must offer them before loading it). */
type Optional =
  | "mirror"
  | "follow"
  | "attach"
  | "removeRemote"
  | "observe"
  | "check"
  | "startMany"
  | "settled"
  | "orphans"

/**
 * An executor whose module is imported on first use: every call waits for the import, then goes to the real one.
 * `optional` names the parts of the port it has (callers test for them before any import).
 */
const lazy = (
  kind: string,
  importer: () => Promise<{ readonly make: (layout: Home.Layout) => Executor.Executor }>,
  layout: Home.Layout,
  optional: ReadonlyArray<Optional>,
  extra: { readonly stopsPending?: boolean } = {}
): Executor.Executor => {
  const load = Effect.promise(importer).pipe(Effect.map((m) => m.make(layout)))
  // a call passed through to the same method of the loaded executor
  const via =
    (part: keyof Executor.Executor) =>
    (...args: Array<unknown>) =>
      Effect.flatMap(load, (e) => (e[part] as (...a: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args))
  const parts = ["start", "liveness", "requestStop", "stopOrphans", "release", ...optional] as const
  return Object.fromEntries([
    ["kind", kind],
    ...Object.entries(extra),
    ...parts.map((part) => [part, via(part)])
  ]) as unknown as Executor.Executor
}

const remoteParts: ReadonlyArray<Optional> = ["mirror", "follow", "attach", "removeRemote", "orphans"]

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
    lazy("ssh", () => import("./ssh_executor.ts"), Home.layout(home), remoteParts),
    // a GPU job: its keeper is spawned and mirrored from here; the provider clients stay in the gpu bundle
    lazy("gpu", () => import("./gpu/executor.ts"), Home.layout(home), [...remoteParts, "check", "settled"]),
    // Slurm's SSH half loads only for a job on a worker
    lazy(
      "slurm",
      () => import("./slurm_executor.ts"),
      Home.layout(home),
      ["check", "startMany", "observe", "orphans"],
      {
        stopsPending: true
      }
    )
  ])

/** Every executor of this build, as a layer (a relative home is resolved now, once). */
export const layer = (home: string): Layer.Layer<Executors> => Layer.succeed(Executors, forHome(Path.resolve(home)))
