// 11. Shell completion: `jobs __complete` (what every Tab runs) on a home of 1,000 finished jobs, with and without
// the index of ended jobs (without it, each job's name is read from the first line of its log), beside `node -e 0`.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { ensureHome } from "./generate.mjs"
import { env, jobs, ms, NODE, ratio, runs, table, timeRoundRobin } from "./lib.mjs"

export const name = "complete"

export const run = async ({ log }) => {
  const n = runs(30)
  const { home, project } = await ensureHome(1000, { log })
  const index = Path.join(home, "cache", "index-v1.tsv")
  const homeEnv = env({ JOBS_HOME: home })
  const hidden = `${index}.bench-hidden`
  // the index as `jobs list` leaves it (every ended job), then put aside for the runs without it
  Fs.rmSync(index, { force: true })
  timeRoundRobin(
    [
      {
        argv: () => jobs("list", "--all", "--limit", "0", "--status", "completed"),
        options: { env: homeEnv, cwd: project }
      }
    ],
    0,
    { warmup: 1 }
  )
  const withIndex = Fs.existsSync(index)
  const commands = [
    { label: "`node -e 0`", argv: () => [NODE, "-e", "0"], reference: true },
    { label: "`jobs __complete ''` (commands)", argv: () => jobs("__complete", ""), options: { env: homeEnv } },
    {
      label: "`jobs __complete logs ''` (1,100 names and ids)",
      argv: () => jobs("__complete", "logs", ""),
      options: { env: homeEnv }
    }
  ]
  const indexed = timeRoundRobin(commands, n, { log })
  if (withIndex) Fs.renameSync(index, hidden)
  let bare
  try {
    bare = timeRoundRobin([commands[0], { ...commands[2], label: `${commands[2].label}, no index` }], n, { log })
  } finally {
    if (withIndex) Fs.renameSync(hidden, index)
  }
  const ref = indexed[0].stats.median
  const rows = [...indexed, bare[1]].map((r) => [
    r.label,
    ms(r.stats.median),
    ms(r.stats.p90),
    ms(r.stats.min),
    ratio(r.stats.median, ref)
  ])
  const worst = Math.max(indexed[2].stats.median, bare[1].stats.median)
  return [
    "## Shell completion",
    "",
    `Wall time of \`jobs __complete\` on a home of 1,000 finished jobs, ${n} runs each, interleaved with \`node -e 0\`.`,
    "",
    table(["command", "median ms", "p90 ms", "min ms", "× `node -e 0`"], rows),
    "",
    `Target: well under 200 ms. Measured: ${ms(worst)} ms at worst (the median without the index), ${ms(worst - ref)} ms above \`node -e 0\`: **${worst < 200 ? "met" : "not met"}**.`
  ].join("\n")
}
