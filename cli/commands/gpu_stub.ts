// jobs gpu: listed here for --help; the launcher runs it from its own bundle (cli/gpu_main.ts), so that the
// provider clients cost the other commands nothing at start-up.
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../core/errors.ts"

/** `jobs gpu` */
export const command = Command.make("gpu", {}, () =>
  Effect.fail(new InvalidInput({ message: "Cannot manage GPUs here: run `jobs gpu` through the jobs bin" }))
).pipe(
  Command.withDescription(
    "GPU instances: offers (prices across providers), ls, terminate ID, sweep [--yes], emulator (a local cloud)"
  )
)
