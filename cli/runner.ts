// Runs an @effect/cli command tree as `jobs`: our own one-line errors and exit codes, plain help when not on a
// terminal, warnings on stderr. Shared by the main CLI bundle and the bundles of heavier commands (worker).
import type * as Command from "@effect/cli/Command"
import * as CommandRun from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as AdaptersMod from "../adapters/mod.ts"
import * as Argv from "./argv.ts"
import * as Help from "./help.ts"
import * as Invocation from "./invocation.ts"
import * as Outcome from "./outcome.ts"

const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

/** @effect/cli's errors as one line (its help docs are paragraphs meant for a terminal), with "did you mean". */
const validationLine =
  (doc: Help.Doc, words: ReadonlyArray<string>) =>
  (error: unknown): string | undefined => {
    if (!ValidationError.isValidationError(error)) return undefined
    const text = "error" in error ? stripAnsi(HelpDoc.toAnsiText(error.error)).replace(/\s+/g, " ").trim() : ""
    return (
      Help.explain(doc, words, text) ?? `Cannot parse arguments: ${text.replace(/\.$/, "") || "invalid command line"}`
    )
  }

/** The path of the command whose help `words` ask for (`--help`, `-h`, `help CMD...`), or undefined. */
const helpPath = (doc: Help.Doc, words: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  if (words.length === 0 || words[0] === "help") return Help.pathOf(doc, words.slice(1))
  if (words.includes("--help") || words.includes("-h")) return Help.pathOf(doc, words)
  // a command made of subcommands, given none (`jobs group`): its help, as @effect/cli would print it
  const path = Help.pathOf(doc, words)
  if (path.length === words.length && (Help.find(doc, path)?.children.length ?? 0) > 0) return path
  return undefined
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

/** Runs `root` with these arguments (without node and the script) and returns the exit code. */
export const run = (
  root: Command.Command<"jobs", any, any, any>,
  args: ReadonlyArray<string>,
  version: string
): Promise<number> => {
  const split = Argv.split(args)
  if (split.error !== undefined) {
    Outcome.report(split.error, "usage", split.json || args.includes("--json"))
    return Promise.resolve(2)
  }
  // the only thing that ever asks a question is @effect/cli's --wizard: never wait for an answer that cannot come
  if (split.cli.includes("--wizard") && process.stdin.isTTY !== true) {
    Outcome.report(
      "Cannot start the wizard: stdin is not a terminal (give the command and its flags instead)",
      "usage",
      split.json
    )
    return Promise.resolve(2)
  }
  const doc = Help.describe(root)
  const asked = helpPath(doc, split.cli)
  if (asked !== undefined) {
    process.stdout.write(Help.render(doc, asked, version, Help.width(), split.cli[0] === "help"))
    return Promise.resolve(0)
  }
  const unknown = Help.unknownFlag(doc, split.cli)
  if (unknown !== undefined) {
    Outcome.report(unknown, "usage", split.json)
    return Promise.resolve(2)
  }
  // --version --json: the version as a document too
  if (split.json && split.cli.length === 1 && split.cli[0] === "--version") {
    process.stdout.write(`${JSON.stringify({ version })}\n`)
    return Promise.resolve(0)
  }
  const invocation = Invocation.make(split, version)
  const program = Effect.gen(function* () {
    const console = yield* quietConsole
    return yield* CommandRun.run(root, { name: "jobs", version })(["node", "jobs", ...split.cli]).pipe(
      Effect.withConsole(console)
    )
  }).pipe(
    Effect.provide(Layer.mergeAll(AdaptersMod.layer(invocation.home), NodeContext.layer)),
    Effect.provideService(Invocation.Invocation, invocation),
    Effect.provide(Logger.replace(Logger.defaultLogger, Outcome.stderrLogger)),
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )
  // the commands need only what is provided above (Jobs, the Invocation, the Node platform)
  return Effect.runPromiseExit(program as Effect.Effect<unknown, unknown, never>).then((exit) =>
    Outcome.exitCode(exit, validationLine(doc, split.cli), split.json)
  )
}
