// 11. The all-jobs feed: latency (an event appended to a running job's log → its line on the follower's stdout) and
// cost (start-up, memory, descriptors, CPU while idle) of `jobs events --all --follow` in a home of 10,000 ended jobs
// and in a home of one job, beside `tail -F` of one file, and beside the other design: an append-only journal
// beside the per-job logs (prototyped here: every writer appends the line to the job's log and to the journal, and
// the reader is `tail -F` of the journal, the best such a reader can do).

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { ensureHome, realEvents } from "./generate.mjs"
import {
  BIN,
  capture,
  env,
  eventually,
  jobs,
  mb,
  memoryOf,
  ms,
  NODE,
  ratio,
  sleep,
  stats,
  table,
  tempDir,
  which
} from "./lib.mjs"

export const name = "feed"

const samplesWanted = () => {
  const n = Number.parseInt(process.env.BENCH_SAMPLES ?? "", 10)
  return Number.isFinite(n) && n > 0 ? n : 50
}

const MISS_MS = 3000
const IDLE_MS = 10_000
const TICKS = 100 // USER_HZ on Linux

/** utime + stime of a process in ms. */
const cpuMs = (pid) => {
  try {
    const s = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ")
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS
  } catch {
    return Number.NaN
  }
}

const fdCount = (pid) => {
  try {
    return Fs.readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return Number.NaN
  }
}

/** An event line of the job (HookRan, valid for the schema) carrying a token. */
const eventLine = (jobId, token) =>
  `${JSON.stringify({ type: "HookRan", v: 1, id: `bench-${token}`, job: jobId, at: new Date().toISOString(), hook: `bench-token-${token}`, exitCode: 0 })}\n`

/**
 * Starts a follower, waits until it prints what is appended (start-up time), then measures memory, descriptors and
 * idle CPU, then takes `count` latency samples: append one event with a token (with `write`), note hrtime, and note
 * it again when a stdout chunk holds the token.
 */
const measure = async (argv, write, count, childEnv, log) => {
  const t0 = process.hrtime.bigint()
  const child = ChildProcess.spawn(argv[0], argv.slice(1), { env: childEnv, stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (d) => {
    stderr += d
  })
  const exited = new Promise((resolve) => child.on("exit", resolve))
  const waiting = new Map()
  let pending = ""
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    const at = process.hrtime.bigint()
    pending += chunk
    const lines = pending.split("\n")
    pending = lines.pop()
    for (const line of lines) {
      const m = /bench-token-([\w-]+)/.exec(line)
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
    let readyAt = null
    for (let k = 0; k < 600 && readyAt === null; k++) {
      const token = `ready-${k}`
      const seen = arrival(token, 250)
      write(token)
      readyAt = await seen
      if (child.exitCode !== null) break
    }
    if (readyAt === null) throw new Error(`${argv.join(" ")} never printed an appended line: ${stderr.trim()}`)
    const startupMs = Number(readyAt - t0) / 1e6
    await sleep(500)
    const cpu0 = cpuMs(child.pid)
    await sleep(IDLE_MS)
    const idleCpu = ((cpuMs(child.pid) - cpu0) / IDLE_MS) * 100
    const memory = memoryOf(child.pid)
    const fds = fdCount(child.pid)
    log(`    ready in ${ms(startupMs)} ms; sampling`)
    const samples = []
    let missed = 0
    for (let i = 0; i < count; i++) {
      await sleep(20 + Math.floor(Math.random() * 40))
      const token = `sample-${i}`
      const seen = arrival(token, MISS_MS)
      const t1 = process.hrtime.bigint()
      write(token)
      const at = await seen
      if (at === null) missed++
      else samples.push(Number(at - t1) / 1e6)
    }
    return { stats: stats(samples), missed, startupMs, idleCpu, rss: memory?.rss ?? Number.NaN, fds }
  } finally {
    child.kill("SIGTERM")
    await Promise.race([exited, sleep(3000)])
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
}

/** Appending `n` events one by one to job logs, with or without a second append to a journal: ms per event. */
const writerCost = (jobsDir, ids, n, journal) => {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const id = ids[i % ids.length]
    const line = eventLine(id, `w-${i}`)
    Fs.appendFileSync(Path.join(jobsDir, id, "events.jsonl"), line)
    if (journal !== undefined) Fs.appendFileSync(journal, `${JSON.stringify({ job: id, line: line.slice(0, -1) })}\n`)
  }
  return Number(process.hrtime.bigint() - t0) / 1e6 / n
}

export const run = async ({ log }) => {
  const count = samplesWanted()
  const n = Number(process.env.BENCH_FEED_JOBS ?? 10000)
  const template = await realEvents()
  const generated = await ensureHome(n, { log, template })
  // a copy: the generated home is shared by the other benchmarks, and this one adds to it
  const bigRoot = tempDir("jobs-bench-feed-big-")
  const big = Path.join(bigRoot, "home")
  log(`feed: copying the ${n.toLocaleString("en")}-job home`)
  ChildProcess.execFileSync("cp", ["-a", generated.home, big])
  const small = Path.join(tempDir("jobs-bench-feed-small-"), "home")
  const cwd = tempDir("jobs-bench-feed-cwd-")

  const homes = [
    { label: `${n.toLocaleString("en")} jobs`, home: big },
    { label: "1 job", home: small }
  ]
  const running = []
  for (const h of homes) {
    const job = JSON.parse(
      capture(jobs("--json", "run", "--", "sleep", "600"), { cwd, env: env({ JOBS_HOME: h.home }) })
    )
    running.push({ home: h.home, id: job.id })
    h.id = job.id
    h.eventsPath = Path.join(h.home, "jobs", job.id, "events.jsonl")
    await eventually(
      () => (Fs.readFileSync(h.eventsPath, "utf8").includes('"Started"') ? true : undefined),
      "the job to start"
    )
  }
  // the index of ended jobs, as any `jobs list --status` leaves it
  capture(jobs("list", "--all", "--status", "completed", "--limit", "0"), { cwd, env: env({ JOBS_HOME: big }) })

  const rows = []
  const results = []
  const journal = Path.join(bigRoot, "journal.jsonl")
  Fs.writeFileSync(journal, "")
  try {
    const followers = []
    for (const h of homes) {
      followers.push({
        label: `**\`jobs events --all --follow\`**, ${h.label}`,
        key: `jobs-${h.label}`,
        argv: [NODE, "--", BIN, "events", "--all", "--follow"],
        env: env({ JOBS_HOME: h.home }),
        write: (token) => Fs.appendFileSync(h.eventsPath, eventLine(h.id, token))
      })
    }
    if (which("tail") !== null) {
      const h = homes[0]
      followers.push({
        label: "`tail -F` of one events.jsonl",
        key: "tail",
        argv: ["tail", "-F", "-n", "0", h.eventsPath],
        env: env(),
        write: (token) => Fs.appendFileSync(h.eventsPath, eventLine(h.id, token))
      })
      followers.push({
        label: `journal prototype (log + journal appends, \`tail -F\` of the journal), ${h.label}`,
        key: "journal",
        argv: ["tail", "-F", "-n", "0", journal],
        env: env(),
        write: (token) => {
          const line = eventLine(h.id, token)
          Fs.appendFileSync(h.eventsPath, line)
          Fs.appendFileSync(journal, `${JSON.stringify({ job: h.id, line: line.slice(0, -1) })}\n`)
        }
      })
    }
    for (const f of followers) {
      log(`feed: ${f.label.replaceAll("*", "")}, ${count} samples`)
      results.push({ ...f, ...(await measure(f.argv, f.write, count, f.env, log)) })
    }
    const ref = results.find((r) => r.key === "tail")?.stats.median
    for (const r of results) {
      rows.push([
        r.label,
        ms(r.stats.median),
        ms(r.stats.p90),
        ms(r.stats.max),
        ratio(r.stats.median, ref),
        r.missed === 0 ? String(r.stats.n) : `${r.stats.n} (${r.missed} missed)`,
        ms(r.startupMs),
        mb(r.rss),
        String(r.fds),
        `${r.idleCpu.toFixed(2)}%`
      ])
    }

    // the journal's price on the writing side: every event written twice (and, for the lifecycle ones, fsynced twice)
    const bigJobs = Path.join(big, "jobs")
    const ids = Fs.readdirSync(bigJobs).slice(0, 1000)
    const writes = 5000
    // alternated, the best of three each: the page cache and the machine's load weigh on both alike
    let plain = Number.POSITIVE_INFINITY
    let doubled = Number.POSITIVE_INFINITY
    for (let round = 0; round < 3; round++) {
      plain = Math.min(plain, writerCost(bigJobs, ids, writes))
      doubled = Math.min(doubled, writerCost(bigJobs, ids, writes, Path.join(bigRoot, "journal-cost.jsonl")))
    }
    const bigFeed = results.find((r) => r.key.startsWith("jobs-") && !r.key.endsWith("1 job"))
    const smallFeed = results.find((r) => r.key.endsWith("1 job"))
    const perJob = (a, b) => ((a - b) / n).toFixed(4)
    return [
      "## The all-jobs feed (`jobs events --all --follow`)",
      "",
      `A running job (\`sleep 600\`) in a home of ${n.toLocaleString("en")} ended jobs (generated, then \`jobs list --status\` built the index) and in a home of its own; the bench appends a valid event (HookRan) to its events.jsonl and measures until the line holding it arrives on the follower's stdout, ${count} samples 20–60 ms apart. Start-up: spawn → the first appended line seen. Memory (RSS), descriptors (/proc/PID/fd) and CPU while idle (${IDLE_MS / 1000} s, no appends) are read once it follows.`,
      "",
      table(
        [
          "follower",
          "median ms",
          "p90 ms",
          "max ms",
          "× `tail -F`",
          "samples",
          "start-up ms",
          "RSS MB",
          "fds",
          "idle CPU"
        ],
        rows
      ),
      "",
      `- Per ended job in the home, \`jobs events --all --follow\` costs ${perJob(bigFeed.startupMs, smallFeed.startupMs)} ms of start-up, ${perJob(bigFeed.rss, smallFeed.rss)} kB of RSS, and no descriptor.`,
      `- The journal's price on the writing side: ${ms(plain * 1000)} µs per event appended to the job's log alone, ${ms(doubled * 1000)} µs with the journal append (${ratio(doubled, plain)}), ${writes} appends with fs.appendFileSync, no fsync, best of 3; every writer (the supervisor's sh, core, the mirror of remote logs) would have to do it, and a crash between the two appends loses the event from the journal.`
    ].join("\n")
  } finally {
    for (const r of running)
      capture(jobs("stop", r.id, "--grace", "1s"), { cwd, env: env({ JOBS_HOME: r.home }), allowFail: true })
  }
}
