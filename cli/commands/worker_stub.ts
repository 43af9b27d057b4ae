// jobs worker: listed here for --help; the launcher runs it from its own bundle (cli/worker_main.ts), so that
// the SSH stack costs the other commands nothing at start-up.
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../core/errors.ts"

/** `jobs worker` */
export const command = Command.make("worker", {}, () =>
  Effect.fail(new InvalidInput({ message: "Cannot manage workers here: run `jobs worker` through the jobs bin" }))
).pipe(Command.withDescription("SSH workers: add (register), ls [--check], rm, default"))
