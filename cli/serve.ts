// `jobs serve`: the web dashboard, from a bundle of its own (dist/serve.cjs) so that the HTTP server costs the
// other commands nothing at start-up.

import * as ChildProcess from "node:child_process"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Dashboard from "../adapters/dashboard.ts"
import * as Adapters from "../adapters/mod.ts"
import * as Home from "../core/home.ts"
import * as RegularFile from "../events/regular_file.ts"

const MAKE_ONE = "make one with: openssl rand -hex 16"

/** Parses the flags, prints the URL, and serves until interrupted. */
export const main = async (args: ReadonlyArray<string>, version: string): Promise<number> => {
  const flags = new Map<string, string>()
  let open = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "serve") continue
    if (a === "--open") {
      open = true
      continue
    }
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined]
    if (!["--host", "--port", "--token", "--home"].includes(name!)) {
      process.stderr.write(`Cannot parse arguments: unknown flag "${a}" (jobs serve --help)\n`)
      return 2
    }
    const value = inline ?? args[++i]
    if (value === undefined || value === "") {
      process.stderr.write(`Cannot parse arguments: ${name} needs a value\n`)
      return 2
    }
    flags.set(name!, value)
  }
  const host = flags.get("--host") ?? "127.0.0.1"
  const port = Number(flags.get("--port") ?? 8000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`Cannot parse --port "${flags.get("--port")}": use a port number\n`)
    return 2
  }
  const explicit = flags.get("--token") ?? (process.env.JOBS_TOKEN === "" ? undefined : process.env.JOBS_TOKEN)
  if (!Dashboard.isLoopback(host)) {
    const why =
      explicit === undefined
        ? "a non-loopback address needs --token or JOBS_TOKEN with at least 128 random bits"
        : !Dashboard.isStrongToken(explicit)
          ? "the token is too weak for a non-loopback address: it needs at least 128 random bits"
          : undefined
    if (why !== undefined) {
      process.stderr.write(`Cannot serve on "${host}": ${why} (${MAKE_ONE})\n`)
      return 2
    }
  }
  const home = Home.resolve(flags.get("--home"))
  let token: string
  try {
    token = explicit ?? Dashboard.homeToken(home)
  } catch (e) {
    process.stderr.write(`Cannot keep the dashboard's token in "${home}": ${RegularFile.reasonOf(e)}\n`)
    return 1
  }
  const shown = host.includes(":") ? `[${host}]` : host
  const codes = Dashboard.loginCodes()
  // printed (the terminal is the user's) only once the server listens; the browser gets a single-use code instead
  // of the token, since every local user can read a command line in /proc
  const listening = (actualPort: number) => {
    process.stdout.write(`jobs dashboard: http://${shown}:${actualPort}/jobs?token=${token}\n`)
    if (open) {
      const url = `http://${shown}:${actualPort}/login?code=${codes.issue()}`
      ChildProcess.spawn("xdg-open", [url], { stdio: "ignore", detached: true })
        .on("error", () => {})
        .unref()
    }
  }
  const exit = await Effect.runPromiseExit(
    Dashboard.serve({ home, host, port, token, version, codes, onListening: listening }).pipe(
      Effect.provide(Adapters.layer(home))
    )
  )
  if (exit._tag === "Failure") {
    const failure = Cause.failureOption(exit.cause)
    const message =
      failure._tag === "Some" && failure.value instanceof Dashboard.ServeFailed
        ? failure.value.message
        : `Cannot serve on ${shown}:${port}: ${Cause.pretty(exit.cause).split("\n")[0]}`
    process.stderr.write(`${message}\n`)
    return 1
  }
  return 0
}
