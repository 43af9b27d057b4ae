// jobs mcp: listed here for --help and completions; the launcher runs it from its own bundle (cli/mcp.ts).
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../core/errors.ts"

/** `jobs mcp` */
export const command = Command.make("mcp", {}, () =>
  Effect.fail(new InvalidInput({ message: "Cannot start the MCP server here: run `jobs mcp` through the jobs bin" }))
).pipe(
  Command.withDescription(
    "A Model Context Protocol server on stdio with the tools run, list, status, summary, logs, wait, stop and " +
      "retry, and the resources jobs://ID/status, jobs://ID/output and jobs://ID/events"
  )
)
