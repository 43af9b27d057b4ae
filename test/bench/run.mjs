// The benchmark suite of `jobs`: figures side by side with peers measured in the same run. It never asserts: a
// target is printed next to the measured figure, and the exit code is 0 unless the suite itself could not run.
//
// usage: node test/bench/run.mjs [startup|list|follow|memory|tmux|batch|dashboard|remote|stop|progress|capped|feed|complete ...]   (default: all, in that order)
//   BENCH_RUNS=N        runs per timed command (default 30 for start-up, 10 for list)
//   BENCH_SAMPLES=N     samples of the follow latency (default 50)
//   BENCH_LIST_SIZES=a,b,c   job counts of the list benchmark (default 1000,10000,100000)
//   BENCH_FEED_JOBS=N   ended jobs in the home of the feed benchmark (default 10000)
//   BENCH_STOP=N        running jobs stopped by the stop benchmark (default 50)
//   BENCH_STOP_BEFORE=PATH   another build's jobs.cjs, timed stopping the same jobs (a before/after figure)
//   BENCH_CAPPED_BEFORE=PATH   another supervisor.sh, timed capturing the same capped output (a before/after figure)
// `npm run bench` builds dist/jobs.cjs first; this script only checks that it exists.
// Prints markdown to stdout and writes the same to test/bench/results.md (overwritten each run).

import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Batch from "./batch.mjs"
import * as Capped from "./capped.mjs"
import * as Complete from "./complete.mjs"
import * as Dashboard from "./dashboard.mjs"
import * as Feed from "./feed.mjs"
import * as Follow from "./follow.mjs"
import { BIN, machine, removeTemps } from "./lib.mjs"
import * as List from "./list.mjs"
import * as Memory from "./memory.mjs"
import * as Progress from "./progress.mjs"
import * as Remote from "./remote.mjs"
import * as Startup from "./startup.mjs"
import * as Stop from "./stop.mjs"
import * as Tmux from "./tmux.mjs"

const ALL = [Startup, List, Follow, Memory, Tmux, Batch, Dashboard, Remote, Stop, Progress, Capped, Feed, Complete]

const names = process.argv.slice(2)
const unknown = names.filter((n) => !ALL.some((b) => b.name === n))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark: ${unknown.join(", ")} (use: ${ALL.map((b) => b.name).join(", ")})\n`)
  process.exit(2)
}
if (!Fs.existsSync(BIN)) {
  process.stderr.write(`${BIN} is missing: run \`npm run build\` (or \`npm run bench\`, which builds first)\n`)
  process.exit(1)
}
const selected = names.length === 0 ? ALL : ALL.filter((b) => names.includes(b.name))

const log = (line) => process.stderr.write(`${line}\n`)
const started = Date.now()
const sections = [
  "# Benchmarks",
  "",
  `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC · ${machine()} · \`${["node test/bench/run.mjs", ...names].join(" ")}\`` +
    (process.env.BENCH_RUNS === undefined ? "" : ` with BENCH_RUNS=${process.env.BENCH_RUNS}`)
]
process.stdout.write(`${sections.join("\n")}\n`)

let failed = false
for (const bench of selected) {
  const t0 = Date.now()
  let section
  try {
    section = await bench.run({ log })
  } catch (e) {
    failed = true
    section = `## ${bench.name}\n\nThe benchmark could not run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`
  } finally {
    removeTemps()
  }
  log(`${bench.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  sections.push("", section)
  process.stdout.write(`\n${section}\n`)
}

const footer = `_Total time of the suite: ${((Date.now() - started) / 1000).toFixed(0)} s._`
sections.push("", footer)
process.stdout.write(`\n${footer}\n`)
Fs.writeFileSync(Path.join(import.meta.dirname, "results.md"), `${sections.join("\n")}\n`)
log(`wrote ${Path.relative(process.cwd(), Path.join(import.meta.dirname, "results.md"))}`)
process.exit(failed ? 1 : 0)
