// jobs gpu: offers across providers, the instances our jobs hold, terminate, sweep, and the local emulator.
import * as Command from "@effect/cli/Command"
import * as Emulator from "./gpu/emulator.ts"
import * as Offers from "./gpu/offers.ts"

/** `jobs gpu ...` */
export const command = Command.make("gpu").pipe(
  Command.withDescription(
    "GPU instances: offers (prices across providers), ls, terminate ID, sweep [--yes], emulator (a local cloud)"
  ),
  Command.withSubcommands([Offers.command, Emulator.command])
)
