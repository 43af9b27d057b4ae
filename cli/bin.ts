// The `jobs` executable: a small launcher that loads the bundle it needs through a V8 code cache. `jobs run`
// tries the fast path (no @effect/cli) first; everything else, and any unusual `run`, loads the full CLI.
// Built to dist/jobs.cjs beside dist/run.cjs and dist/cli.cjs (see scripts/build.mjs).
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Vm from "node:vm"

declare const JOBS_VERSION: string

interface Bundles {
  readonly run: { readonly tryRun: (args: ReadonlyArray<string>, version: string) => Promise<number> | undefined }
  readonly cli: { readonly main: (args: ReadonlyArray<string>, version: string) => Promise<number> }
  readonly mcp: { readonly main: (args: ReadonlyArray<string>, version: string) => Promise<number> }
  readonly serve: { readonly main: (args: ReadonlyArray<string>, version: string) => Promise<number> }
  readonly worker: { readonly main: (args: ReadonlyArray<string>, version: string) => Promise<number> }
  readonly gpu: { readonly main: (args: ReadonlyArray<string>, version: string) => Promise<number> }
  readonly complete: { readonly main: (args: ReadonlyArray<string>) => Promise<number> }
}

const scripts: Array<[Vm.Script, string]> = []

/** Loads dist/<name>.cjs, compiled with its code cache when one is there and still valid. */
const load = <K extends keyof Bundles>(name: K): Bundles[K] => {
  const file = Path.join(__dirname, `${name}.cjs`)
  const cacheFile = `${file}.cache`
  let cachedData: Buffer | undefined
  try {
    cachedData = Fs.readFileSync(cacheFile)
  } catch {
    cachedData = undefined
  }
  const source = Fs.readFileSync(file, "utf8")
  const script = new Vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData })
  })
  const module = { exports: {} as Bundles[K] }
  script.runInThisContext()(module.exports, require, module, file, __dirname)
  scripts.push([script, cacheFile])
  return module.exports
}

/** The subcommand: the first word that is not a global flag or its value. */
const subcommand = (args: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--home") i++
    else if (!arg.startsWith("-")) return arg
  }
  return undefined
}

/**
 * A reader that stops reading (`jobs logs X | head`) is no error: exit quietly, as `cat` does. Node ignores
 * SIGPIPE and reports EPIPE on the stream instead; every bundle writes through these two streams.
 */
const quietOnClosedPipe = (stream: NodeJS.WriteStream) =>
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
    process.exit(0)
  })

/** The current directory, or undefined when it was removed under us (every command resolves paths from it). */
const currentDirectory = (): string | undefined => {
  try {
    return process.cwd()
  } catch {
    return undefined
  }
}

const start = async (): Promise<number> => {
  const args = process.argv.slice(2)
  quietOnClosedPipe(process.stdout)
  quietOnClosedPipe(process.stderr)
  if (process.env.JOBS_WRITE_CODE_CACHE === "1") {
    // the build runs typical commands in a scratch home first, so that the cache holds the functions they
    // compile too (V8 compiles lazily: a cache made right after loading would miss most of them)
    await load("run").tryRun(["run", "--", "true"], JOBS_VERSION)
    const cli = load("cli")
    for (const warm of [["list"], ["status"], ["--help"], ["logs", "nope"]]) await cli.main(warm, JOBS_VERSION)
    await load("complete").main(["__complete", "logs", ""])
    for (const [script, cacheFile] of scripts) Fs.writeFileSync(cacheFile, script.createCachedData())
    return 0
  }
  // shell completion, on every Tab: before anything else, with the smallest bundle
  if (args[0] === "__complete") return load("complete").main(args)
  const command = subcommand(args)
  if (currentDirectory() === undefined) {
    const what = command === "run" ? "run the job" : `run jobs ${command ?? ""}`.trimEnd()
    const message = `Cannot ${what}: the current directory no longer exists (cd to one that does)`
    process.stderr.write(`${message}\n`)
    // as cli/outcome.ts reports every other error under --json (the bundles are not loaded yet)
    if (args.includes("--json")) process.stdout.write(`${JSON.stringify({ error: { code: "usage", message } })}\n`)
    return 1
  }
  // help is drawn by the bundle that has the command's flags (`jobs help worker` by the worker bundle); serve's and
  // mcp's by the main one, which lists their flags
  const asked = command === "help" ? subcommand(args.slice(args.indexOf("help") + 1)) : undefined
  if (asked === "worker" || asked === "gpu") return load(asked).main(args, JOBS_VERSION)
  if ((command === "mcp" || command === "serve") && (args.includes("--help") || args.includes("-h")))
    return load("cli").main(args, JOBS_VERSION)
  // the MCP server has a bundle of its own: its SDK costs the other commands nothing
  if (command === "mcp") return load("mcp").main(args, JOBS_VERSION)
  if (command === "serve") return load("serve").main(args, JOBS_VERSION)
  if (command === "worker" || command === "__ssh" || command === "__mux") return load("worker").main(args, JOBS_VERSION)
  if (command === "gpu" || command === "__gpu-keeper") return load("gpu").main(args, JOBS_VERSION)
  const fast = command === "run" ? load("run").tryRun(args, JOBS_VERSION) : undefined
  return fast ?? load("cli").main(args, JOBS_VERSION)
}

start().then((code) => process.exit(code))
