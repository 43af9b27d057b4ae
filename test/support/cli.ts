// Runs the built `jobs` binary (dist/jobs.cjs) the way a user would, in a private home.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The built bin. `npm test` builds it first. It is run as its shebang does: `node -- BIN` (see scripts/build.mjs). */
export const BIN = Path.resolve(import.meta.dirname, "../../dist/jobs.cjs")

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly home?: string
  readonly cwd?: string
  readonly env?: Record<string, string | undefined>
  readonly input?: string
}

/** A new empty directory under the OS temp dir. */
export const tempDir = (prefix = "jobs-test-"): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))

const childEnv = (options: RunOptions): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env }
  delete env.NODE_EXTRA_CA_CERTS
  if (options.home !== undefined) env.JOBS_HOME = options.home
  for (const [k, v] of Object.entries(options.env ?? {})) if (v === undefined) delete env[k]
  return env
}

/** Runs `jobs ARGS...` to completion (synchronously) and returns its exit code and output. */
export const jobs = (args: ReadonlyArray<string>, options: RunOptions = {}): Result => {
  const r = ChildProcess.spawnSync(process.execPath, ["--", BIN, ...args], {
    cwd: options.cwd ?? Os.tmpdir(),
    env: childEnv(options),
    input: options.input ?? "",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })
  return {
    code: r.status ?? 128 + (r.signal === null ? 0 : Os.constants.signals[r.signal]),
    stdout: r.stdout,
    stderr: r.stderr
  }
}

/** Runs `jobs ARGS...` asynchronously (for many at once). */
export const jobsAsync = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Result> =>
  new Promise((resolve) => {
    const child = ChildProcess.spawn(process.execPath, ["--", BIN, ...args], {
      cwd: options.cwd ?? Os.tmpdir(),
      env: childEnv(options),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.on("close", (code, signal) =>
      resolve({ code: code ?? 128 + (signal === null ? 0 : Os.constants.signals[signal]), stdout, stderr })
    )
  })

/** Parses a --json stdout. */
export const json = <A = any>(result: Result): A => {
  try {
    return JSON.parse(result.stdout) as A
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`)
  }
}

/** Polls until `f` returns a value other than undefined, or throws after `timeoutMs`. */
export const eventually = async <A>(f: () => A | undefined, timeoutMs = 15_000, what = "condition"): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = f()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Whether a pid exists and is not a zombie. */
export const isRunning = (pid: number): boolean => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}
