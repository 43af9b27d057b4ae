// Bundled and run by scripts/build.mjs: the command tree and the static lists that shell completion offers,
// written to dist/completion_spec.json so that `jobs __complete` needs none of the commands' code.
import * as Command from "@effect/cli/Command"
import * as Gpu from "../cli/commands/gpu.ts"
import * as Worker from "../cli/commands/worker.ts"
import * as Completion from "../cli/completion.ts"
import * as Help from "../cli/help.ts"
import { root } from "../cli/main.ts"
import * as JobState from "../core/job_state.ts"
import * as Provider from "../core/provider.ts"

/** Signals offered for `stop --signal` (any other that `stop` knows works too). */
const SIGNALS = ["TERM", "INT", "HUP", "QUIT", "KILL", "USR1", "USR2"]

/** The spec as JSON. */
export const render = (): string => {
  const others = [Worker.command, Gpu.command].map((c) =>
    Help.describe(Command.make("jobs").pipe(Command.withSubcommands([c])))
  )
  const spec: Completion.Spec = {
    tree: Completion.merge(Help.describe(root), others),
    lists: {
      providers: [...Provider.PROVIDERS],
      gpuTypes: Provider.GPU_TYPES,
      statuses: [...JobState.STATUSES],
      signals: SIGNALS.filter((s) => JobState.signalNumber(s) !== undefined)
    }
  }
  return JSON.stringify(spec)
}
