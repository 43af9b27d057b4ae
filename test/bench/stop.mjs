// 9. Stopping many jobs: `jobs stop` of 50 running jobs in one command, beside one `jobs stop` per job, a bare
// `kill` of their process groups (the floor: no log, no wait for the end to be recorded), and, when
// BENCH_STOP_BEFORE names another build's jobs.cjs (e.g. the previous release), the same command with that build.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { BIN, env, eventually, ms, NODE, since, table, tempDir, timeOnce } from "./lib.mjs"

export const name = "stop"

/** The Started events of a home's jobs, once every job has one. */
const startedOf = async (home, n) =>
  eventually(
    () => {
      const dirs = Fs.readdirSync(Path.join(home, "jobs"))
      const found = []
      for (const d of dirs) {
        const text = Fs.readFileSync(Path.join(home, "jobs", d, "events.jsonl"), "utf8")
        const line = text.split("\n").find((l) => l.includes('"type":"Started"'))
        if (line === undefined) return undefined
        found.push({ ...JSON.parse(line), id: d })
      }
      return found.length === n ? found : undefined
    },
    `${n} jobs started`,
    120_000
  )

/** Whether any process of a process group is left (zombies aside). */
const groupLeft = (pgid) =>
  Fs.readdirSync("/proc").some((p) => {
    if (!/^\d+$/.test(p)) return false
    try {
      const s = Fs.readFileSync(`/proc/${p}/stat`, "utf8")
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ")
      return Number(f[2]) === pgid && f[0] !== "Z"
    } catch {
      return false
    }
  })

export const run = async ({ log }) => {
  const n = Number(process.env.BENCH_STOP ?? 50)
  const rows = []
  /** n running `sleep 300` jobs in a new home, submitted in one batch. */
  const fresh = async (bin = BIN) => {
    const home = Path.join(tempDir("jobs-bench-stop-"), "home")
    const file = Path.join(tempDir("jobs-bench-stop-lines-"), "lines")
    Fs.writeFileSync(file, "sleep 300\n".repeat(n))
    const r = timeOnce([NODE, bin, "run", "--each", file], { env: env({ JOBS_HOME: home }) })
    if (!r.ok) throw new Error(`submitting ${n} jobs failed: ${r.why}`)
    return { home, started: await startedOf(home, n) }
  }
  const measure = async (label, argvOf, bin = BIN) => {
    const { home, started } = await fresh(bin)
    const t0 = process.hrtime.bigint()
    for (const argv of argvOf(started)) {
      const t = timeOnce(argv, { env: env({ JOBS_HOME: home }), timeoutMs: 600_000 })
      if (!t.ok) log(`  ${label}: ${t.why}`)
    }
    const total = since(t0)
    const left = started.filter((s) => groupLeft(s.pgid)).length
    for (const s of started) {
      try {
        process.kill(-s.pgid, "SIGKILL")
      } catch {
        // gone, as it should be
      }
    }
    rows.push([label, n, ms(total), ms(total / n), left])
    log(`  ${label}: ${ms(total)} ms`)
  }

  await measure("**`jobs stop ID×50`** (one command)", (s) => [[NODE, BIN, "stop", ...s.map((j) => j.id)]])
  await measure("`jobs stop --all --yes`", () => [[NODE, BIN, "stop", "--all", "--yes"]])
  const before = process.env.BENCH_STOP_BEFORE
  if (before !== undefined && Fs.existsSync(before)) {
    await measure(
      "`jobs stop ID×50`, the build in BENCH_STOP_BEFORE",
      (s) => [[NODE, before, "stop", ...s.map((j) => j.id)]],
      before
    )
  }
  await measure("`jobs stop ID` once per job", (s) => s.map((j) => [NODE, BIN, "stop", j.id]))
  await measure("`kill -TERM -PGID` per job, then poll /proc until gone (no log)", (s) => [
    [
      "sh",
      "-c",
      'for g in "$@"; do kill -s TERM -- "-$g"; done; for g in "$@"; do while kill -0 -- "-$g" 2>/dev/null; do sleep 0.01; done; done',
      "sh",
      ...s.map((j) => String(j.pgid))
    ]
  ])
  return [
    "## Stopping many jobs",
    "",
    `Wall time to stop ${n} running jobs (\`sleep 300\`, default grace) until the command returns: \`jobs stop\` ` +
      "returns once every job's end is recorded. Every job is signalled first, then all are waited for together. " +
      '"left" counts jobs with a process still in /proc right after.',
    "",
    table(["how", "jobs", "total ms", "ms per job", "left"], rows)
  ].join("\n")
}
