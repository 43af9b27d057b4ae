// 3. `jobs logs -f` latency: the time from an append to a running job's output.log until the line comes out of
// the follower's stdout, beside `tail -F` on the same file, measured the same way.

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { capture, env, eventually, jobs, ms, ratio, sleep, stats, table, tempDir, which } from "./lib.mjs"

export const name = "follow"

const samplesWanted = () => {
  const n = Number.parseInt(process.env.BENCH_SAMPLES ?? "", 10)
  return Number.isFinite(n) && n > 0 ? n : 50
}

/** How long a line may take before it counts as missed (the follower's safety poll is 1 s). */
const MISS_MS = 3000
/** A sample slower than this most likely waited for the follower's 1-second safety poll, not a notification. */
const SLOW_MS = 100

/**
 * Starts a follower, waits until it prints what is appended, then takes `count` samples: append one line with a
 * token, note hrtime, and note hrtime again in the stdout 'data' handler that sees the token.
 */
const measure = async (argv, logPath, count, cwd, childEnv) => {
  const child = ChildProcess.spawn(argv[0], argv.slice(1), { cwd, env: childEnv, stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (d) => {
    stderr += d
  })
  const exited = new Promise((resolve) => child.on("exit", resolve))
  const waiting = new Map() // token -> (arrivedAt) => void
  let pending = ""
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    const at = process.hrtime.bigint()
    pending += chunk
    const lines = pending.split("\n")
    pending = lines.pop()
    for (const line of lines) {
      const m = /^bench-token (\S+)$/.exec(line)
      if (m !== null) waiting.get(m[1])?.(at)
    }
  })
  const arrival = (token, timeoutMs) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(token)
        resolve(null)
      }, timeoutMs)
      waiting.set(token, (at) => {
        clearTimeout(timer)
        waiting.delete(token)
        resolve(at)
      })
    })

  try {
    // ready: the follower has printed a line appended after it started (its watcher is set up)
    let ready = false
    for (let k = 0; k < 100 && !ready; k++) {
      const token = `ready-${k}`
      const seen = arrival(token, 250)
      Fs.appendFileSync(logPath, `bench-token ${token}\n`)
      ready = (await seen) !== null
      if (child.exitCode !== null) break
    }
    if (!ready) throw new Error(`${argv.join(" ")} never printed an appended line: ${stderr.trim()}`)
    await sleep(200)

    const samples = []
    let missed = 0
    for (let i = 0; i < count; i++) {
      await sleep(20 + Math.floor(Math.random() * 40))
      const token = `sample-${i}`
      const seen = arrival(token, MISS_MS)
      const t0 = process.hrtime.bigint()
      Fs.appendFileSync(logPath, `bench-token ${token}\n`)
      const at = await seen
      if (at === null) missed++
      else samples.push(Number(at - t0) / 1e6)
    }
    return { stats: stats(samples), missed, slow: samples.filter((x) => x > SLOW_MS).length }
  } finally {
    child.kill("SIGTERM")
    await Promise.race([exited, sleep(2000)])
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
}

export const run = async ({ log }) => {
  const count = samplesWanted()
  const home = tempDir("jobs-bench-follow-home-")
  const cwd = tempDir("jobs-bench-follow-cwd-")
  const jobsEnv = env({ JOBS_HOME: home })
  const id = JSON.parse(capture(jobs("--json", "run", "--", "sh", "-c", "sleep 600"), { cwd, env: jobsEnv })).id
  const eventsPath = Path.join(home, "jobs", id, "events.jsonl")
  const logPath = Path.join(home, "jobs", id, "output.log")
  const notes = []
  const rows = []
  try {
    await eventually(
      () => (Fs.existsSync(eventsPath) && Fs.readFileSync(eventsPath, "utf8").includes('"Started"') ? true : undefined),
      "the job to start"
    )
    const followers = [{ label: "**`jobs logs -f ID`**", argv: [...jobs("logs", "-f", id)], key: "jobs" }]
    if (which("tail") !== null)
      followers.push({ label: "`tail -F output.log`", argv: ["tail", "-F", "-n", "0", logPath], key: "tail" })
    const results = []
    for (const f of followers) {
      log(`follow: ${f.label.replaceAll("*", "")}, ${count} samples`)
      results.push({ ...f, ...(await measure(f.argv, logPath, count, cwd, jobsEnv)) })
    }
    const ref = results.find((r) => r.key === "tail")?.stats.median
    for (const r of results) {
      rows.push([
        r.label,
        ms(r.stats.median),
        ms(r.stats.p90),
        ms(r.stats.min),
        ms(r.stats.max),
        ratio(r.stats.median, ref),
        String(r.slow),
        r.missed === 0 ? String(r.stats.n) : `${r.stats.n} (${r.missed} missed > ${MISS_MS} ms)`
      ])
    }
    const mine = results.find((r) => r.key === "jobs").stats.median
    notes.push(
      `Target: \`jobs logs -f\` ≤ 5 ms median. Measured: ${ms(mine)} ms, **${mine <= 5 ? "met" : "not met"}**.`
    )
    const slow = results.find((r) => r.key === "jobs").slow
    if (slow > 0) {
      notes.push(
        `${slow} of ${count} lines took over ${SLOW_MS} ms to appear in \`jobs logs -f\`: they waited for its 1-second safety poll. ` +
          "A likely cause: chokidar (5.0) emits at most one `change` per path per 50 ms and drops, rather than delays, " +
          "the others, so a line written within 50 ms of the previous notification goes unannounced."
      )
    }
  } finally {
    capture(jobs("stop", id, "--grace", "1s"), { cwd, env: jobsEnv, allowFail: true })
  }
  return [
    "## `jobs logs -f` latency",
    "",
    `A running job (\`sh -c 'sleep 600'\`); the bench appends a line to its output.log (fs.appendFileSync) and measures until the line arrives on the follower's stdout (a pipe), ${count} samples 20–60 ms apart, after the follower has shown it is watching.`,
    "",
    table(["follower", "median ms", "p90 ms", "min ms", "max ms", "× `tail -F`", `> ${SLOW_MS} ms`, "samples"], rows),
    "",
    ...notes.map((x) => `- ${x}`)
  ].join("\n")
}
