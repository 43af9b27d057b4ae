// The bundle of the GPU commands (dist/gpu.cjs): `jobs gpu ...`, and the internal `jobs __gpu-keeper HOME ID`
// that provisions a GPU job's instance, follows the job and releases the instance. The provider clients and the
// emulator live here only, so they cost the other commands nothing at start-up.
import * as Command from "@effect/cli/Command"
import * as Gpu from "./commands/gpu.ts"
import * as Runner from "./runner.ts"

const root = Command.make("jobs").pipe(Command.withSubcommands([Gpu.command]))

/** Runs `jobs gpu ...` or the internal keeper. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> => Runner.run(root, args, version)
