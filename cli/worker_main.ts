// The bundle of the SSH commands (dist/worker.cjs): `jobs worker ...`, with ssh2 loaded only here.
import * as Command from "@effect/cli/Command"
import * as Worker from "./commands/worker.ts"
import * as Runner from "./runner.ts"

const root = Command.make("jobs").pipe(Command.withSubcommands([Worker.command]))

/** Runs `jobs worker ...`. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> => Runner.run(root, args, version)
