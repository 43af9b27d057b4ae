// jobs gpu: offers across providers, the instances our jobs hold, terminate, sweep, and the local emulator.
import * as Command from "@effect/cli/Command"
import * as Emulator from "./gpu/emulator.ts"
import * as Ls from "./gpu/ls.ts"
import * as Offers from "./gpu/offers.ts"
import * as Sweep from "./gpu/sweep.ts"
import * as Terminate from "./gpu/terminate.ts"

/** `jobs gpu ...` */
export const command = Command.make("gpu").pipe(
  Command.withDescription(
    "GPU instances: offers (prices across providers), ls, terminate ID, sweep [--yes], emulator (a local cloud)"
  ),
  Command.withSubcommands([Offers.command, Ls.command, Terminate.command, Sweep.command, Emulator.command])
)
