// The bundle of the GPU commands (dist/gpu.cjs): `jobs gpu ...`, and the internal `jobs __gpu-keeper ID` that
// provisions a GPU job's instance, follows the job and releases the instance. The provider clients and the
// emulator live here only, so they cost the other commands nothing at start-up.
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Keeper from "../adapters/gpu/keeper.ts"
import * as Home from "../core/home.ts"
import * as Gpu from "./commands/gpu.ts"
import * as Runner from "./runner.ts"

const root = Command.make("jobs").pipe(Command.withSubcommands([Gpu.command]))

/** `jobs __gpu-keeper ID`: keeps one job; TERM, INT and HUP interrupt it, which releases its instance. */
const keeper = async (id: string | undefined): Promise<number> => {
  if (id === undefined) {
    process.stderr.write("Cannot keep a GPU job: no job id given\n")
    return 2
  }
  const fiber = Effect.runFork(Keeper.keep(Home.layout(Home.resolve(undefined)), id))
  const stop = () => void Effect.runFork(Fiber.interrupt(fiber))
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  return Exit.isSuccess(exit) ? 0 : 1
}

/** Runs `jobs gpu ...` or the internal keeper. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> => {
  const at = args.indexOf("__gpu-keeper")
  return at >= 0 ? keeper(args[at + 1]) : Runner.run(root, args, version)
}
