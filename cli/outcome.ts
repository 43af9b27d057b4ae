// How an invocation ends (kept free of @effect/cli, which the start-up fast path does not load): its one-line error on stderr and its exit code (0 ok, 1 failed, 2 bad usage).
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import { ExitWith } from "./_shared.ts"

/** An error's stable code in JSON output: its tag in kebab case (`JobNotFound` → `job-not-found`), or `usage`. */
export const errorCode = (tag: string | undefined): string =>
  tag === undefined ? "error" : tag.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()

/**
 * Says why an invocation failed: one line on stderr, and with --json also `{"error": {"code", "message"}}` on
 * stdout (schema: error.schema.json), so a script reading stdout learns it from the document it parses.
 */
export const report = (message: string, code: string, json: boolean): void => {
  process.stderr.write(`${message}\n`)
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`)
}

/** Prints the error of a failed invocation (one line, no stack trace) and returns the exit code. */
export const exitCode = (
  exit: Exit.Exit<unknown, unknown>,
  usageLine: (error: unknown) => string | undefined = () => undefined,
  json = false
): number => {
  if (Exit.isSuccess(exit)) return 0
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") {
    if (Cause.isInterruptedOnly(exit.cause)) return 130
    report(`Cannot run jobs: internal error: ${Cause.pretty(exit.cause).split("\n")[0]}`, "internal", json)
    return 1
  }
  const error = failure.value as unknown
  if (error instanceof ExitWith) return error.code
  const usage = usageLine(error)
  if (usage !== undefined) {
    report(usage, "usage", json)
    return 2
  }
  const tagged = error as { _tag?: string; message?: string }
  report(tagged.message ?? String(error), errorCode(tagged._tag), json)
  return tagged._tag === "InvalidInput" ? 2 : 1
}

/** Warnings from the library, as `jobs: warning: ...` lines on stderr. */
export const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.join(" ") : String(message)
  const level = logLevel.label === "WARN" ? "warning" : logLevel.label.toLowerCase()
  process.stderr.write(`jobs: ${level}: ${text}\n`)
})
