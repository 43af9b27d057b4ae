// How an invocation ends (kept free of @effect/cli, which the start-up fast path does not load): its one-line error on stderr and its exit code (0 ok, 1 failed, 2 bad usage).
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import { ExitWith } from "./_shared.ts"

/** Prints the error of a failed invocation (one line, no stack trace) and returns the exit code. */
export const exitCode = (
  exit: Exit.Exit<unknown, unknown>,
  usageLine: (error: unknown) => string | undefined = () => undefined
): number => {
  if (Exit.isSuccess(exit)) return 0
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") {
    if (Cause.isInterruptedOnly(exit.cause)) return 130
    process.stderr.write(`Cannot run jobs: internal error: ${Cause.pretty(exit.cause).split("\n")[0]}\n`)
    return 1
  }
  const error = failure.value as unknown
  if (error instanceof ExitWith) return error.code
  const usage = usageLine(error)
  if (usage !== undefined) {
    process.stderr.write(usage + "\n")
    return 2
  }
  const tagged = error as { _tag?: string; message?: string }
  process.stderr.write(`${tagged.message ?? String(error)}\n`)
  return tagged._tag === "InvalidInput" ? 2 : 1
}

/** Warnings from the library, as `jobs: warning: ...` lines on stderr. */
export const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.join(" ") : String(message)
  const level = logLevel.label === "WARN" ? "warning" : logLevel.label.toLowerCase()
  process.stderr.write(`jobs: ${level}: ${text}\n`)
})
