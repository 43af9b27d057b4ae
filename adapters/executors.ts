// The executors this build ships, as the Executors service.
import * as Layer from "effect/Layer"
import { Executors } from "../core/executor.ts"
import * as LocalExecutor from "./local_executor.ts"
import * as TmuxExecutor from "./tmux_executor.ts"

const all = [LocalExecutor.executor, TmuxExecutor.executor]

/** Every executor of this build, chosen by the `executor` field of a job's spec. */
export const executors: Executors["Type"] = {
  get: (kind) => all.find((e) => e.kind === kind),
  kinds: all.map((e) => e.kind)
}

/** Every executor of this build, as a layer. */
export const layer: Layer.Layer<Executors> = Layer.succeed(Executors, executors)
