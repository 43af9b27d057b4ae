// The `jobs` command: assembles the subcommands, and runs one invocation to an exit code.
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as AdaptersMod from "../adapters/mod.ts"
import * as Argv from "./argv.ts"
import * as Attach from "./commands/attach.ts"
import * as Clean from "./commands/clean.ts"
import * as Events from "./commands/events.ts"
import * as Group from "./commands/group.ts"
import * as List from "./commands/list.ts"
import * as Logs from "./commands/logs.ts"
import * as Mcp from "./commands/mcp.ts"
import * as Retry from "./commands/retry.ts"
import * as Rm from "./commands/rm.ts"
import * as Run from "./commands/run.ts"
import * as Serve from "./commands/serve.ts"
import * as Skills from "./commands/skills.ts"
import * as Status from "./commands/status.ts"
import * as Stop from "./commands/stop.ts"
import * as Wait from "./commands/wait.ts"
import * as Invocation from "./invocation.ts"
import * as Outcome from "./outcome.ts"

const root = Command.make("jobs").pipe(
  Command.withDescription(
    "Run any command in the background and check on it later. Global flags: --home DIR (or JOBS_HOME), " +
      "--json (one JSON document on stdout)."
  ),
  Command.withSubcommands([
    Run.command,
    List.command,
    List.alias,
    Status.command,
    Logs.command,
    Events.command,
    Stop.command,
    Wait.command,
    Retry.command,
    Rm.command,
    Clean.command,
    Attach.command,
    Group.command,
    Skills.command,
    Mcp.command,
    Serve.command
  ])
)

const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

/** @effect/cli's errors as one line: its help docs are paragraphs meant for a terminal. */
const validationLine = (error: unknown): string | undefined => {
  if (!ValidationError.isValidationError(error)) return undefined
  const text = "error" in error ? stripAnsi(HelpDoc.toAnsiText(error.error)).replace(/\s+/g, " ").trim() : ""
  return `Cannot parse arguments: ${text.replace(/\.$/, "") || "invalid command line"}`
}

// @effect/cli prints its errors itself (several lines, on stderr): we print them our way instead
// and its help is coloured for a terminal: plain text when stdout is a pipe or a file (or NO_COLOR is set)
const plain = process.stdout.isTTY !== true || (process.env.NO_COLOR ?? "") !== ""
const quietConsole = Effect.map(Effect.console, (console) => ({
  ...console,
  error: () => Effect.void,
  log: (...args: ReadonlyArray<unknown>) =>
    console.log(...(plain ? args.map((a) => (typeof a === "string" ? stripAnsi(a) : a)) : args))
}))

/** Runs `jobs` with these arguments (without node and the script) and returns the exit code. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> => {
  const split = Argv.split(args)
  if (split.error !== undefined) {
    process.stderr.write(split.error + "\n")
    return Promise.resolve(2)
  }
  // the only thing that ever asks a question is @effect/cli's --wizard: never wait for an answer that cannot come
  if (split.cli.includes("--wizard") && process.stdin.isTTY !== true) {
    process.stderr.write("Cannot start the wizard: stdin is not a terminal (give the command and its flags instead)\n")
    return Promise.resolve(2)
  }
  const invocation = Invocation.make(split, version)
  const program = Effect.gen(function* () {
    const console = yield* quietConsole
    return yield* Command.run(root, { name: "jobs", version })(["node", "jobs", ...split.cli]).pipe(
      Effect.withConsole(console)
    )
  }).pipe(
    Effect.provide(Layer.mergeAll(AdaptersMod.layer(invocation.home), NodeContext.layer)),
    Effect.provideService(Invocation.Invocation, invocation),
    Effect.provide(Logger.replace(Logger.defaultLogger, Outcome.stderrLogger)),
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )
  return Effect.runPromiseExit(program).then((exit) => Outcome.exitCode(exit, validationLine))
}
