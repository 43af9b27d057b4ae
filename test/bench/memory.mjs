// 4. Memory of supervision per running job: the PSS of the processes that exist only to watch a job (for `jobs`,
// the supervisor sh and the helpers it forked, not the command), beside nq's waiting process.

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import {
  capture,
  descendants,
  env,
  eventually,
  isAlive,
  jobs,
  kill,
  mb,
  memoryOf,
  NODE,
  processTable,
  ratio,
  sleep,
  table,
  tempDir,
  which
} from "./lib.mjs"

export const name = "memory"

const JOBS = 10

/** Reads the Started event of a job, once written. */
const startedOf = (home, id) => {
  try {
    const text = Fs.readFileSync(Path.join(home, "jobs", id, "events.jsonl"), "utf8")
    for (const line of text.split("\n")) {
      if (line.includes('"type":"Started"')) return JSON.parse(line)
    }
  } catch {
    // not yet
  }
  return undefined
}

/** Sums memory over each job's supervision processes; returns per-job figures and what the processes were. */
const summarize = (groups) => {
  const perJob = groups.map((pids) => {
    let pss = 0
    let rss = 0
    for (const pid of pids) {
      const m = memoryOf(pid)
      if (m !== null) {
        pss += m.pss
        rss += m.rss
      }
    }
    return { pss, rss }
  })
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  return {
    pss: mean(perJob.map((j) => j.pss)),
    rss: mean(perJob.map((j) => j.rss)),
    minPss: Math.min(...perJob.map((j) => j.pss)),
    maxPss: Math.max(...perJob.map((j) => j.pss))
  }
}

/** What a job's supervision consists of, e.g. "sh, sh, sleep". */
const describe = (table, pids) =>
  pids
    .map((p) => table.get(p)?.comm ?? "?")
    .sort()
    .join(" + ")

const measureJobs = async (label, extraArgs, cleanups) => {
  const home = tempDir("jobs-bench-mem-home-")
  const cwd = tempDir("jobs-bench-mem-cwd-")
  const jobsEnv = env({ JOBS_HOME: home })
  const ids = []
  cleanups.push(() => {
    if (ids.length > 0) capture(jobs("stop", ...ids, "--grace", "1s"), { cwd, env: jobsEnv, allowFail: true })
  })
  for (let i = 0; i < JOBS; i++) {
    ids.push(JSON.parse(capture(jobs("--json", "run", ...extraArgs, "--", "sleep", "600"), { cwd, env: jobsEnv })).id)
  }
  const started = await eventually(() => {
    const all = ids.map((id) => startedOf(home, id))
    return all.every((s) => s !== undefined) ? all : undefined
  }, "10 jobs to start")
  await sleep(500) // let the supervisors settle (the command substitutions of the Started line end)
  const table = processTable()
  const groups = started.map((s) => {
    const command = new Set(descendants(table, s.pid))
    return descendants(table, s.supervisorPid).filter((p) => !command.has(p))
  })
  for (const s of started) {
    if (!isAlive(s.supervisorPid)) throw new Error(`supervisor ${s.supervisorPid} is not running`)
  }
  const pids = [...groups.flat(), ...started.flatMap((s) => descendants(table, s.pid))]
  return { label, ...summarize(groups), processes: describe(table, groups[0]), pids }
}

const measureNq = async (cleanups) => {
  const pids = []
  cleanups.push(() => {
    for (const p of pids) kill(p, "SIGKILL")
  })
  const jobPids = []
  for (let i = 0; i < JOBS; i++) {
    // one queue each: in one queue nq runs jobs one after another, and the later ones would not be running
    const nqdir = tempDir("jobs-bench-mem-nq-")
    const out = capture(["nq", "sleep", "600"], { env: env({ NQDIR: nqdir }) }).trim()
    const jobPid = Number(/\.(\d+)$/.exec(out)?.[1])
    if (!Number.isInteger(jobPid)) throw new Error(`cannot read the pid from nq's output "${out}"`)
    jobPids.push(jobPid)
    pids.push(jobPid)
  }
  // nq's waiting process is the parent of the command
  const parents = await eventually(() => {
    const table = processTable()
    const ps = jobPids.map((p) => table.get(p))
    if (ps.some((p) => p === undefined || p.comm !== "sleep")) return undefined
    const parents = ps.map((p) => table.get(p.ppid))
    return parents.every((p) => p?.comm === "nq") ? parents.map((p) => p.pid) : undefined
  }, "nq's jobs to start")
  pids.push(...parents)
  await sleep(500)
  return {
    label: "`nq sleep 600` (nq's waiting process)",
    ...summarize(parents.map((p) => [p])),
    processes: "nq",
    pids: [...pids]
  }
}

const measureNode = async (cleanups) => {
  const children = []
  cleanups.push(() => {
    for (const c of children) c.kill("SIGKILL")
  })
  for (let i = 0; i < JOBS; i++) {
    children.push(
      ChildProcess.spawn(NODE, ["-e", "setTimeout(() => {}, 600000)"], { env: env(), stdio: "ignore", detached: true })
    )
  }
  await sleep(1500)
  return {
    label: "a Node process per job (`node -e` idle), for scale",
    ...summarize(children.map((c) => [c.pid])),
    processes: "node",
    pids: children.map((c) => c.pid)
  }
}

export const run = async ({ log }) => {
  const results = []
  const notes = []
  // one runner at a time, cleaned up before the next: PSS depends on who else maps the same pages
  const step = async (what, measure) => {
    log(`memory: ${JOBS} × ${what}`)
    const cleanups = []
    try {
      return await measure(cleanups)
    } finally {
      for (const c of cleanups.reverse()) {
        try {
          c()
        } catch (e) {
          notes.push(`clean-up after ${what} failed: ${e instanceof Error ? e.message : String(e)}`)
        }
      }
    }
  }
  results.push(await step("jobs run", (c) => measureJobs("**`jobs run -- sleep 600`**", [], c)))
  results.push(
    await step("jobs run --timeout 1h", (c) =>
      measureJobs("**`jobs run --timeout 1h -- sleep 600`**", ["--timeout", "1h"], c)
    )
  )
  if (which("nq") !== null) results.push({ ...(await step("nq", measureNq)), reference: true })
  else notes.push("nq: not installed (apt-get install nq), skipped")
  results.push(await step("node", measureNode))
  const all = results.flatMap((r) => r.pids)
  for (let i = 0; i < 150 && all.some(isAlive); i++) await sleep(20)
  const leftovers = all.filter(isAlive)
  if (leftovers.length > 0) {
    notes.push(
      `${leftovers.length} process(es) were still alive after the clean-up and were killed: ${leftovers.join(", ")}`
    )
    for (const p of leftovers) kill(p, "SIGKILL")
  }
  const ref = results.find((r) => r.reference)?.pss
  const rows = results.map((r) => [
    r.label,
    r.processes,
    mb(r.pss),
    `${mb(r.minPss)}–${mb(r.maxPss)}`,
    mb(r.rss),
    ratio(r.pss, ref)
  ])
  const targets = results
    .filter((r) => r.label.startsWith("**"))
    .map(
      (r) =>
        `Target: ≤ 2 MB PSS per job for ${r.label.replaceAll("*", "")}. Measured: ${mb(r.pss)} MB, **${r.pss <= 2048 ? "met" : "not met"}**.`
    )
  return [
    "## Memory of supervision per running job",
    "",
    `${JOBS} jobs running at once per row; PSS (\`Pss:\` of /proc/PID/smaps_rollup, shared pages divided among the processes that map them) summed over the processes that exist only to supervise a job — for \`jobs\`, the descendants of the Started event's \`supervisorPid\` except the command (\`pid\`) and its descendants — then averaged over the jobs. The command itself (\`sleep\`) is not counted anywhere.`,
    "",
    table(["runner", "processes per job", "PSS MB / job", "PSS range MB", "RSS MB / job", "× nq (PSS)"], rows),
    "",
    ...targets.map((x) => `- ${x}`),
    ...notes.map((x) => `- ${x}`)
  ].join("\n")
}
