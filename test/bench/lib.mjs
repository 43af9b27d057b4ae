// Shared helpers of the benchmark suite: timing, statistics, markdown tables, the built bin, process inspection.
// Plain Node ESM on purpose: `node test/bench/run.mjs` needs no build step of its own.

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export const ROOT = Path.resolve(import.meta.dirname, "../..")
export const BIN = Path.join(ROOT, "dist/jobs.cjs")
export const NODE = process.execPath

/** Runs per timed command (BENCH_RUNS overrides every benchmark's default). */
export const runs = (fallback) => {
  const n = Number.parseInt(process.env.BENCH_RUNS ?? "", 10)
  return Number.isFinite(n) && n > 0 ? n : fallback
}

/**
 * The environment of every timed process: ours without NODE_EXTRA_CA_CERTS (this machine sets it, and it adds
 * ~90 ms to each Node start), plus `extra` (a value of undefined removes the variable).
 */
export const env = (extra = {}) => {
  const out = { ...process.env }
  delete out.NODE_EXTRA_CA_CERTS
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete out[k]
    else out[k] = v
  }
  return out
}

/** A new empty directory under the OS temp dir; removed by `cleanup()` unless `keep`. */
const temps = []
export const tempDir = (prefix = "jobs-bench-tmp-") => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  temps.push(dir)
  return dir
}
export const removeTemps = () => {
  for (const dir of temps.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
}

/** Whether an executable is on PATH. */
export const which = (name) => {
  const r = ChildProcess.spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : null
}

/** Milliseconds since an hrtime.bigint() reading. */
export const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e6

const devNull = Fs.openSync("/dev/null", "w")

/**
 * Runs a command to its end and returns the wall time in ms, measured with process.hrtime around spawnSync.
 * stdin is /dev/null; stdout goes to /dev/null (or `outFd`), stderr to a file we read only when it fails, so that
 * no pipe is held open by a detached grandchild (spawnSync would wait for the pipe to close, not for the exit).
 */
export const timeOnce = (argv, options = {}) => {
  const errFile = Path.join(Os.tmpdir(), `jobs-bench-stderr-${process.pid}`)
  const errFd = Fs.openSync(errFile, "w")
  try {
    const t0 = process.hrtime.bigint()
    const r = ChildProcess.spawnSync(argv[0], argv.slice(1), {
      cwd: options.cwd ?? Os.tmpdir(),
      env: options.env ?? env(),
      stdio: ["ignore", options.outFd ?? devNull, errFd],
      timeout: options.timeoutMs ?? 120_000
    })
    const ms = since(t0)
    if (r.error !== undefined || r.status !== 0) {
      const stderr = Fs.readFileSync(errFile, "utf8").trim().split("\n").slice(-3).join(" | ")
      const why = r.error?.message ?? (r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`)
      return { ms, ok: false, why: `${why}${stderr === "" ? "" : `: ${stderr}`}` }
    }
    return { ms, ok: true }
  } finally {
    Fs.closeSync(errFd)
    Fs.rmSync(errFile, { force: true })
  }
}

/** Runs a command and returns its stdout (for set-up and checks, never timed). Throws when it fails. */
export const capture = (argv, options = {}) => {
  const r = ChildProcess.spawnSync(argv[0], argv.slice(1), {
    cwd: options.cwd ?? Os.tmpdir(),
    env: options.env ?? env(),
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
    timeout: options.timeoutMs ?? 300_000
  })
  if (r.error !== undefined || (r.status !== 0 && options.allowFail !== true)) {
    throw new Error(`${argv.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`)
  }
  return r.stdout
}

/** `jobs ARGS...` as an argv. */
export const jobs = (...args) => [NODE, BIN, ...args]

// ---------------------------------------------------------------------------------------------------------------
// statistics and tables

/** Median, p90 (nearest rank), min, max and mean of samples in ms. */
export const stats = (samples) => {
  const s = [...samples].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return { n: 0, median: Number.NaN, p90: Number.NaN, min: Number.NaN, max: Number.NaN, mean: Number.NaN }
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]
  return { n, median, p90, min: s[0], max: s[n - 1], mean: s.reduce((a, b) => a + b, 0) / n }
}

/** A number in ms for a table: one decimal below 100, none above. */
export const ms = (x) => (Number.isFinite(x) ? (x < 100 ? x.toFixed(1) : Math.round(x).toString()) : "–")
export const ratio = (x, ref) =>
  Number.isFinite(x) && Number.isFinite(ref) && ref > 0 ? `${(x / ref).toFixed(2)}×` : "–"
export const mb = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(2) : "–")

/**
 * A markdown table with padded columns (readable as text, and the way Biome formats markdown); numeric-looking
 * columns are right-aligned.
 */
export const table = (header, rows) => {
  const cells = [header, ...rows].map((r) => r.map(String))
  const width = (s) => [...s].length
  const numeric = (s) => /^[-–\d.,×%~≈<>() a-z]+$/.test(s) && /\d|–/.test(s)
  const right = header.map((_, i) => rows.length > 0 && cells.slice(1).every((r) => numeric(r[i])))
  const widths = header.map((_, i) => Math.max(3, ...cells.map((r) => width(r[i]))))
  const pad = (s, i) => (right[i] ? " ".repeat(widths[i] - width(s)) + s : s + " ".repeat(widths[i] - width(s)))
  const line = (r) => `| ${r.map(pad).join(" | ")} |`
  const rule = `| ${widths.map((w, i) => (right[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join("\n")
}

/** Blocks for a while (between timed runs, so that what a command left in the background settles first). */
const pause = (msecs) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msecs)

/**
 * Runs `commands` round-robin (so drift in the machine's load hits every command alike) and returns samples. Each
 * run is followed by the command's untimed `after` hook, then a 25 ms pause.
 */
export const timeRoundRobin = (commands, n, { warmup = 2, log = () => {} } = {}) => {
  const results = commands.map((c) => ({ ...c, samples: [], failures: [], first: null }))
  for (let w = 0; w < warmup; w++) {
    for (const r of results) {
      const t = timeOnce(r.argv(w, true), r.options)
      if (w === 0) r.first = t.ms
      if (!t.ok) r.failures.push(t.why)
      r.after?.(w, true)
      pause(25)
    }
  }
  for (let i = 0; i < n; i++) {
    for (const r of results) {
      const t = timeOnce(r.argv(i, false), r.options)
      if (t.ok) r.samples.push(t.ms)
      else r.failures.push(t.why)
      r.after?.(i, false)
      pause(25)
    }
    if ((i + 1) % 10 === 0) log(`  ${i + 1}/${n}`)
  }
  return results.map((r) => ({ ...r, stats: stats(r.samples) }))
}

/** Sleeps (async). */
export const sleep = (msecs) => new Promise((r) => setTimeout(r, msecs))

/** Polls `f` until it returns something other than undefined; throws after `timeoutMs`. */
export const eventually = async (f, what, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// processes

/** Parsed /proc/PID/stat: state, ppid, pgid, comm; null when the process is gone. */
export const procStat = (pid) => {
  try {
    const s = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = s.lastIndexOf(")")
    const comm = s.slice(s.indexOf("(") + 1, close)
    const f = s.slice(close + 2).split(" ")
    return { pid, comm, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]) }
  } catch {
    return null
  }
}

/** Every live process as a map pid -> stat. */
export const processTable = () => {
  const table = new Map()
  for (const name of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    const st = procStat(Number(name))
    if (st !== null && st.state !== "Z" && st.state !== "X") table.set(st.pid, st)
  }
  return table
}

/** A pid and all its descendants, from a process table. */
export const descendants = (table, root) => {
  const children = new Map()
  for (const st of table.values()) {
    if (!children.has(st.ppid)) children.set(st.ppid, [])
    children.get(st.ppid).push(st.pid)
  }
  const out = []
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop()
    if (!table.has(pid)) continue
    out.push(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return out
}

/** Pss and Rss of a process in kB, from /proc/PID/smaps_rollup; null when gone. */
export const memoryOf = (pid) => {
  try {
    const text = Fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN)
    return { pss: field("Pss"), rss: field("Rss") }
  } catch {
    return null
  }
}

/** Whether a pid is alive (and not a zombie). */
export const isAlive = (pid) => {
  const st = procStat(pid)
  return st !== null && st.state !== "Z" && st.state !== "X"
}

/** Sends a signal, ignoring a process that is already gone. */
export const kill = (pid, signal = "SIGTERM") => {
  try {
    process.kill(pid, signal)
  } catch {
    // gone already
  }
}

/** A line about the machine, for the results header (with the load average: these are wall times). */
export const machine = () => {
  const cpu = Os.cpus()[0]?.model ?? "unknown CPU"
  const load = Os.loadavg()[0].toFixed(2)
  return `${cpu}, ${Os.cpus().length} CPUs, ${Math.round(Os.totalmem() / 2 ** 30)} GiB, Linux ${Os.release()}, Node ${process.version}, load ${load} at start`
}
