// jobs serve: listed here for --help and completions; the launcher runs it from its own bundle (cli/serve.ts).
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../core/errors.ts"

/** `jobs serve` */
export const command = Command.make("serve", {}, () =>
  Effect.fail(new InvalidInput({ message: "Cannot start the dashboard here: run `jobs serve` through the jobs bin" }))
).pipe(
  Command.withDescription(
    "The web dashboard on 127.0.0.1:8000 (--host, --port, --token, --open): live job list and logs, stop, rerun, " +
      "a new-job form, stats, a JSON API and Server-Sent Events. --open logs the browser in with a single-use code; " +
      "a non-loopback --host needs a token of at least 128 random bits (openssl rand -hex 16)"
  )
)
