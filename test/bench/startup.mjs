// 1. Start-up: how long until `jobs run -- true` gives the terminal back, beside peers that start a command in the
// background (setsid, nq, task-spooler, pm2) and a bare `node -e 0`.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { capture, env, jobs, ms, NODE, ROOT, ratio, runs, table, tempDir, timeRoundRobin, which } from "./lib.mjs"

export const name = "startup"

export const run = async ({ log }) => {
  const n = runs(30)
  const cwd = tempDir("jobs-bench-cwd-")
  const runHome = tempDir("jobs-bench-run-home-")
  const emptyHome = tempDir("jobs-bench-empty-home-")
  const notes = []
  const cleanups = []

  const commands = [
    { label: "`node -e 0`", argv: () => [NODE, "-e", "0"], reference: true },
    { label: "**`jobs run -- true`**", argv: () => jobs("run", "--", "true"), env: { JOBS_HOME: runHome }, key: "run" },
    { label: "`jobs --version`", argv: () => jobs("--version"), env: { JOBS_HOME: emptyHome } },
    { label: "`jobs list` (empty home)", argv: () => jobs("list"), env: { JOBS_HOME: emptyHome } }
  ]

  if (which("setsid") !== null) commands.push({ label: "`setsid -f true`", argv: () => ["setsid", "-f", "true"] })
  else notes.push("setsid: not installed, skipped")

  if (which("nq") !== null) {
    const nqdir = tempDir("jobs-bench-nq-")
    commands.push({ label: "`nq true`", argv: () => ["nq", "true"], env: { NQDIR: nqdir } })
  } else notes.push("nq: not installed (apt-get install nq), skipped")

  if (which("tsp") !== null) {
    const dir = tempDir("jobs-bench-tsp-")
    const tspEnv = { TS_SOCKET: Path.join(dir, "socket"), TMPDIR: dir }
    commands.push({ label: "`tsp true`", argv: () => ["tsp", "true"], env: tspEnv, cold: true })
    cleanups.push(() => capture(["tsp", "-K"], { env: env(tspEnv), allowFail: true }))
  } else notes.push("tsp: not installed (apt-get install task-spooler), skipped")

  const pm2 = Path.join(ROOT, "node_modules/pm2/bin/pm2")
  if (Fs.existsSync(pm2)) {
    const pm2Env = { PM2_HOME: tempDir("jobs-bench-pm2-") }
    const name = (i, warm) => `bench-${warm ? "w" : ""}${i}`
    commands.push({
      label: "`pm2 start --no-autorestart true`",
      argv: (i, warm) => [NODE, pm2, "start", "--no-autorestart", "--name", name(i, warm), "true"],
      env: pm2Env,
      cold: true,
      // untimed: remove the app again, so that every timed start prints (and manages) a list of one app
      after: (i, warm) => capture([NODE, pm2, "delete", name(i, warm)], { env: env(pm2Env), allowFail: true })
    })
    cleanups.push(() => capture([NODE, pm2, "kill"], { env: env(pm2Env), allowFail: true }))
  } else notes.push("pm2: not installed (cd /work/main && npm install --save-dev pm2), skipped")

  for (const c of commands) c.options = { cwd, env: env(c.env ?? {}) }

  log(`startup: ${commands.length} commands × ${n} runs (+2 warm-up runs each, round-robin)`)
  let results
  try {
    results = timeRoundRobin(commands, n, { log })
  } finally {
    for (const c of cleanups) {
      try {
        c()
      } catch {
        // best effort: a server that is already gone
      }
    }
  }

  const ref = results.find((r) => r.reference).stats.median
  const rows = results.map((r) => [
    r.label,
    ms(r.stats.median),
    ms(r.stats.p90),
    ms(r.stats.min),
    ratio(r.stats.median, ref),
    r.failures.length === 0 ? String(r.stats.n) : `${r.stats.n} (${r.failures.length} failed)`
  ])
  for (const r of results) {
    if (r.cold) notes.push(`${r.label}: the first (cold) call, which also starts its server, took ${ms(r.first)} ms`)
    if (r.failures.length > 0) notes.push(`${r.label} failed: ${r.failures[0]}`)
  }
  const jobRun = results.find((r) => r.key === "run").stats.median
  const target = 2.5
  const verdict = jobRun / ref <= target ? "met" : "not met"
  return [
    "## Start-up",
    "",
    `Wall time from spawn until the command returns (process.hrtime around spawnSync; NODE_EXTRA_CA_CERTS unset), ${n} runs each after 2 warm-up runs, interleaved, 25 ms apart. The background command itself is not timed: every tool returns before \`true\` has run. tsp and pm2 talk to a server that is already running (started by the warm-up); \`jobs\`, nq and setsid have none.`,
    "",
    table(["command", "median ms", "p90 ms", "min ms", "× `node -e 0`", "runs"], rows),
    "",
    `Target: \`jobs run -- true\` ≤ ${target}× \`node -e 0\`. Measured: ${(jobRun / ref).toFixed(2)}× (${ms(jobRun)} ms vs ${ms(ref)} ms): **${verdict}**.`,
    "",
    ...notes.map((x) => `- ${x}`)
  ].join("\n")
}
