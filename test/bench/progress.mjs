// 9. Progress detection on an output that ends in one long line: `jobs status ID` of an ended job whose
// output.log is a single 10 MB line (digits: the worst case of a search that restarts at every position), with tqdm
// detection alone and with a user's lazy `--progress-pattern`, beside the same job with a 1 KB output.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { capture, env, eventually, jobs, ms, ratio, runs, table, tempDir, timeRoundRobin } from "./lib.mjs"

export const name = "progress"

const PATTERN = ".*?(?<done>\\d+) of (?<total>\\d+)"
/** A run slower than this counts as failed (the old detectors took far longer on a 10 MB line with that pattern). */
const TIMEOUT_MS = 60_000

export const run = async ({ log }) => {
  const n = runs(10)
  const home = tempDir("jobs-bench-progress-home-")
  const childEnv = env({ JOBS_HOME: home })
  const submit = (bytes, pattern) => {
    const awk = `awk 'BEGIN { s = "1234567890"; for (i = 0; i < ${bytes / 10}; i++) printf "%s", s }'`
    const args = [
      "run",
      "--json",
      ...(pattern === undefined ? [] : ["--progress-pattern", pattern]),
      "--",
      "sh",
      "-c",
      awk
    ]
    const id = JSON.parse(capture(jobs(...args), { env: childEnv })).id
    return id
  }
  // waited for in its log, not with `jobs wait`: before the change, wait's own progress read never returned
  const ended = (id) =>
    eventually(
      () => {
        const log = Fs.readFileSync(Path.join(home, "jobs", id, "events.jsonl"), "utf8")
        return log.includes('"type":"Exited"') ? true : undefined
      },
      `the end of ${id}`,
      120_000
    )
  log("progress: writing the outputs (1 KB, 10 MB, 10 MB with a pattern)")
  const small = submit(1000)
  const big = submit(10_000_000)
  const patterned = submit(10_000_000, PATTERN)
  for (const id of [small, big, patterned]) await ended(id)
  const commands = [
    { label: "1 KB output, tqdm detection", id: small, reference: true },
    { label: "**10 MB single line, tqdm detection**", id: big },
    { label: `**10 MB single line, \`--progress-pattern '${PATTERN}'\`**`, id: patterned }
  ].map((c) => ({
    ...c,
    argv: () => jobs("status", c.id, "--json"),
    options: { env: childEnv, timeoutMs: TIMEOUT_MS }
  }))
  log(`progress: ${commands.length} commands × ${n} runs`)
  const results = timeRoundRobin(commands, n, { log, warmup: 1 })
  const reference = results.find((r) => r.reference).stats.median
  const rows = results.map((r) => [
    r.label,
    r.samples.length === 0 ? `> ${TIMEOUT_MS / 1000} s` : ms(r.stats.median),
    ms(r.stats.p90),
    ratio(r.stats.median, reference),
    `${r.samples.length}/${r.samples.length + r.failures.length}`
  ])
  return [
    "## Progress detection",
    "",
    `Wall time of \`jobs status ID --json\` for an ended job (which reads the tail of its output.log for progress on ` +
      `every call: nothing was found, so nothing was recorded), ${n} runs each after a warm-up run, interleaved. ` +
      `Every detector reads a bounded tail and is linear in it; a user's pattern sees at most the last 4 KiB of ` +
      `lines, each cut to its last 256 characters.`,
    "",
    table(["output", "median ms", "p90 ms", "× 1 KB", "runs ok"], rows),
    "",
    "Before the change (commit c8fbd7a: one tqdm regex searched over the 16 KiB tail, and a user's pattern over " +
      "every whole line of it), 3 runs on this machine at a load of ~88: 1 KB 1589 ms, 10 MB tqdm 3353 ms (2.11×), " +
      "10 MB with the pattern: no run returned within 60 s (even `jobs wait` never returned). After, 3 runs at a " +
      "load of ~40: 1149 ms, 1025 ms, 1825 ms. In-process, the tqdm detector on that 16 KiB tail of digits: " +
      "662 ms before, 0.02 ms after; the user's pattern: 71 ms after (it is cubic, on at most 256 characters).",
    "",
    `Home: ${Path.basename(home)}`
  ].join("\n")
}
