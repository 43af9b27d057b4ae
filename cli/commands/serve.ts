// jobs serve: listed here for --help and completions; the launcher runs it from its own bundle (cli/serve.ts).
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../core/errors.ts"

/** `jobs serve` */
// the flags cli/serve.ts reads (a test holds the two lists together)
const options = {
  host: Options.text("host").pipe(
    Options.withDescription("The address to listen on (default 127.0.0.1; any other needs a strong --token)"),
    Options.optional
  ),
  port: Options.integer("port").pipe(
    Options.withDescription("The port (default 8000; 0 picks a free one)"),
    Options.optional
  ),
  token: Options.text("token").pipe(
    Options.withDescription("The token every request needs (default: JOBS_TOKEN, else one kept in the home)"),
    Options.optional
  ),
  open: Options.boolean("open").pipe(Options.withDescription("Open the browser, logged in with a single-use code"))
}

export const command = Command.make("serve", options, () =>
  Effect.fail(new InvalidInput({ message: "Cannot start the dashboard here: run `jobs serve` through the jobs bin" }))
).pipe(
  Command.withDescription(
    "The web dashboard on 127.0.0.1:8000: live job list and logs, stop, rerun, a new-job form, stats, a JSON API " +
      "and Server-Sent Events. Every request needs the token; the printed URL carries it once. --open logs the " +
      "browser in with a single-use code instead (a command line is public). A non-loopback --host needs a token " +
      "of at least 128 random bits (openssl rand -hex 16)"
  )
)
