// 6. Submitting many jobs: `jobs run --each FILE` (one process for the whole batch) beside a process per job
// (`jobs run`, `nq`, `tsp`), in jobs submitted per second. Submission only: the jobs themselves are `true`.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { capture, env, jobs, ms, since, table, tempDir, timeOnce, which } from "./lib.mjs"

export const name = "batch"

export const run = async ({ log }) => {
  const n = Number(process.env.BENCH_BATCH ?? 500)
  const perProcess = Math.min(n, 100)
  const rows = []
  const rate = (count, msecs) => (count / (msecs / 1000)).toFixed(0)

  const home = tempDir("jobs-bench-batch-home-")
  const file = Path.join(tempDir("jobs-bench-batch-"), "lines")
  Fs.writeFileSync(file, "true\n".repeat(n))
  const t0 = process.hrtime.bigint()
  const r = timeOnce(jobs("run", "--each", file), { env: env({ JOBS_HOME: home }) })
  const batchMs = since(t0)
  if (!r.ok) log(`  --each: ${r.why}`)
  rows.push(["**`jobs run --each FILE`** (one process)", n, ms(batchMs), rate(n, batchMs)])

  const loop = (label, count, argv, options) => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < count; i++) {
      const t = timeOnce(argv, options)
      if (!t.ok) log(`  ${label}: ${t.why}`)
    }
    const total = since(start)
    rows.push([label, count, ms(total), rate(count, total)])
  }
  const home2 = tempDir("jobs-bench-batch-home2-")
  loop("`jobs run -- true` (a process per job)", perProcess, jobs("run", "--", "true"), {
    env: env({ JOBS_HOME: home2 })
  })
  if (which("nq") !== null) {
    loop("`nq true` (a process per job)", n, ["nq", "true"], { env: env({ NQDIR: tempDir("jobs-bench-batch-nq-") }) })
  }
  if (which("tsp") !== null) {
    const dir = tempDir("jobs-bench-batch-tsp-")
    const tspEnv = env({ TS_SOCKET: Path.join(dir, "socket"), TMPDIR: dir, TS_MAXFINISHED: String(n + 10) })
    loop("`tsp true` (a process per job)", n, ["tsp", "true"], { env: tspEnv })
    capture(["tsp", "-K"], { env: tspEnv, allowFail: true })
  }
  return [
    "## Submitting many jobs",
    "",
    `Wall time to submit the jobs (each runs \`true\`), and jobs per second. ${n} jobs per row except the ` +
      `per-process \`jobs run\` row (${perProcess}).`,
    "",
    table(["how", "jobs", "total ms", "jobs/s"], rows)
  ].join("\n")
}
