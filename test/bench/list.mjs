// 2. `jobs list` over homes of 1,000 / 10,000 / 100,000 finished jobs (generated on disk, see generate.mjs),
// beside the floor of listing the job folders at all (`ls | wc -l`).

import * as Fs from "node:fs"
import * as Path from "node:path"
import { ensureHome, realEvents } from "./generate.mjs"
import { capture, env, jobs, ms, ratio, runs, stats, table, tempDir, timeOnce } from "./lib.mjs"

export const name = "list"

/** tsp -l over a comparable number of finished jobs, measured earlier on this machine (impractical to set up here). */
const TSP_L_MS = 63
/** A command whose single run takes longer than this is skipped at that size. */
const SKIP_ABOVE_MS = 30_000
/** The timed runs of one command at one size stop once they have used this much time (at least 3 runs). */
const BUDGET_MS = 45_000

const sizes = () =>
  (process.env.BENCH_LIST_SIZES ?? "1000,10000,100000")
    .split(",")
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => n > 0)

/** How many jobs an output holds: table rows (a short id first), JSON objects, or the number `wc -l` printed. */
const countPrinted = (key, text) => {
  const n =
    key === "json"
      ? (text.match(/"shortId":/g) ?? []).length
      : key === "ls"
        ? Number(text.trim())
        : (text.match(/^[0-9a-z]{8} /gm) ?? []).length
  return n.toLocaleString("en")
}

export const run = async ({ log }) => {
  const n = runs(10)
  const scratch = tempDir("jobs-bench-list-")
  const template = await realEvents()
  const notes = []
  const rows = []
  const figures = new Map() // `${key}@${size}` -> median
  for (const size of sizes()) {
    const { home, project, reused } = await ensureHome(size, { log, template })
    log(`list: ${size.toLocaleString("en")} jobs${reused ? " (reusing the generated home)" : ""}, ${n} runs each`)
    const options = { cwd: project, env: env({ JOBS_HOME: home }) }
    const commands = [
      { key: "list", label: "`jobs list`", argv: jobs("list") },
      { key: "all", label: "`jobs list --all`", argv: jobs("list", "--all") },
      {
        key: "json",
        label: "`jobs list --all --json --limit 0`",
        argv: jobs("list", "--all", "--json", "--limit", "0")
      },
      {
        key: "ls",
        label: "`ls $JOBS_HOME/jobs \\| wc -l` (floor)",
        argv: ["sh", "-c", 'ls "$1/jobs" | wc -l', "sh", home]
      }
    ]
    // an untimed check that the generated home reads as intended
    const count = capture(["sh", "-c", 'ls "$1/jobs" | wc -l', "sh", home]).trim()
    if (Number(count) !== size) throw new Error(`${home} holds ${count} jobs, not ${size}`)

    for (const c of commands) {
      // the first run is the warm-up and the probe: a command slower than SKIP_ABOVE_MS is not repeated. It runs
      // without the home's cache/ (DESIGN §3: derived, deleting it loses nothing), so it is also the cold figure.
      Fs.rmSync(Path.join(home, "cache"), { recursive: true, force: true })
      // its stdout goes to a file, to count the jobs it printed
      const outPath = Path.join(scratch, "out")
      const outFd = Fs.openSync(outPath, "w")
      const probe = timeOnce(c.argv, { ...options, outFd, timeoutMs: SKIP_ABOVE_MS * 4 })
      Fs.closeSync(outFd)
      const printed = countPrinted(c.key, Fs.readFileSync(outPath, "utf8"))
      Fs.rmSync(outPath)
      if (!probe.ok) {
        notes.push(`${c.label} at ${size.toLocaleString("en")} failed: ${probe.why}`)
        continue
      }
      if (probe.ms > SKIP_ABOVE_MS) {
        notes.push(`${c.label} at ${size.toLocaleString("en")}: one run took ${ms(probe.ms)} ms (> 30 s), not repeated`)
        rows.push([
          c.label,
          size.toLocaleString("en"),
          printed,
          ms(probe.ms),
          "–",
          ms(probe.ms),
          ratio(probe.ms, TSP_L_MS),
          "1"
        ])
        continue
      }
      const samples = []
      const t0 = Date.now()
      for (let i = 0; i < n; i++) {
        if (i >= 3 && Date.now() - t0 > BUDGET_MS) break
        const t = timeOnce(c.argv, options)
        if (t.ok) samples.push(t.ms)
      }
      const s = stats(samples)
      if (s.n < n) notes.push(`${c.label} at ${size.toLocaleString("en")}: ${s.n} runs instead of ${n} (time budget)`)
      figures.set(`${c.key}@${size}`, s.median)
      rows.push([
        c.label,
        size.toLocaleString("en"),
        printed,
        ms(s.median),
        ms(s.p90),
        ms(probe.ms),
        ratio(s.median, TSP_L_MS),
        String(s.n)
      ])
    }
  }

  const targets = []
  for (const key of ["list", "all"]) {
    const label = key === "list" ? "`jobs list`" : "`jobs list --all`"
    const at10k = figures.get(`${key}@10000`)
    const at100k = figures.get(`${key}@100000`)
    if (at10k !== undefined) {
      targets.push(`${label} ≤ 150 ms at 10,000: measured ${ms(at10k)} ms, **${at10k <= 150 ? "met" : "not met"}**.`)
    }
    if (at10k !== undefined && at100k !== undefined) {
      const r = at100k / at10k
      targets.push(
        `${label} at 100,000 < 2× its 10,000 figure: measured ${r.toFixed(2)}× (${ms(at100k)} ms), **${r < 2 ? "met" : "not met"}**.`
      )
    }
  }

  return [
    "## `jobs list`",
    "",
    `Homes of finished jobs written straight to disk (\`/tmp/jobs-bench-<n>\`, reused across runs) with the Submitted, Started and Exited lines of a real job; the jobs are spread over 4 projects and \`jobs list\` runs in one of them (a quarter of the jobs). Output goes to /dev/null ("printed": the jobs in the output of the first run). Median of ${n} runs after one warm-up run; the warm-up is the "first run" column, timed with \`$JOBS_HOME/cache\` deleted just before it.`,
    "",
    table(
      ["command", "jobs", "printed", "median ms", "p90 ms", "first run ms", `× \`tsp -l\` (${TSP_L_MS} ms)`, "runs"],
      rows
    ),
    "",
    `Reference: \`tsp -l\` with a comparable number of finished jobs ≈ ${TSP_L_MS} ms, measured earlier (task-spooler keeps its list in the memory of its server; creating 100,000 finished tsp jobs here is impractical). \`ls | wc -l\` is the floor: reading the folder names and nothing else.`,
    "",
    ...targets.map((x) => `- Target: ${x}`),
    ...notes.map((x) => `- ${x}`)
  ].join("\n")
}
