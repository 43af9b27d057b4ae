// `jobs serve`: the web dashboard, from a bundle of its own (dist/serve.cjs) so that the HTTP server costs the
// other commands nothing at start-up.

import * as ChildProcess from "node:child_process"
import * as Net from "node:net"
import * as Effect from "effect/Effect"
import * as Dashboard from "../adapters/dashboard.ts"
import * as Adapters from "../adapters/mod.ts"
import * as Home from "../core/home.ts"

const USAGE = `jobs serve [--host 127.0.0.1] [--port 8000] [--token TOKEN] [--open] [--home DIR]
  The web dashboard: job list, job pages with live logs, stop, rerun, a new-job form, stats and a JSON API.
  Every request needs the token (--token, else JOBS_TOKEN, else one kept in $JOBS_HOME/serve-token); the printed
  URL carries it once. Binding an address other than loopback needs --token or JOBS_TOKEN.
`

/** Parses the flags, prints the URL, and serves until interrupted. */
export const main = async (args: ReadonlyArray<string>, version: string): Promise<number> => {
  const flags = new Map<string, string>()
  let open = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "serve") continue
    if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE)
      return 0
    }
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
  if (!Dashboard.isLoopback(host) && explicit === undefined) {
    process.stderr.write(`Cannot serve on "${host}": a non-loopback address needs --token or JOBS_TOKEN\n`)
    return 2
  }
  const home = Home.resolve(flags.get("--home"))
  let token: string
  try {
    token = explicit ?? Dashboard.homeToken(home)
  } catch (e) {
    process.stderr.write(`Cannot keep the dashboard's token in "${home}": ${(e as NodeJS.ErrnoException).code ?? e}\n`)
    return 1
  }
  const shown = host.includes(":") ? `[${host}]` : host
  const started = (actualPort: number) => {
    const url = `http://${shown}:${actualPort}/jobs?token=${token}`
    process.stdout.write(`jobs dashboard: ${url}\n`)
    if (open) ChildProcess.spawn("xdg-open", [url], { stdio: "ignore", detached: true }).on("error", () => {})
  }
  // port 0 picks a free port: the printed URL must say which one
  const chosen = port === 0 ? await freePort(host) : port
  started(chosen)
  const exit = await Effect.runPromiseExit(
    Dashboard.serve({ home, host, port: chosen, token, version }).pipe(Effect.provide(Adapters.layer(home)))
  )
  if (exit._tag === "Failure") {
    process.stderr.write(`Cannot serve on ${shown}:${chosen}: ${String(exit.cause).split("\n")[0]}\n`)
    return 1
  }
  return 0
}

// (no dynamic import here: the bundle runs inside vm.Script, which has no loader for it)
const freePort = (host: string): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
