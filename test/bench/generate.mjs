// Homes with many finished jobs, written straight to disk (running 100,000 real jobs would take an hour).
//
// The event shapes are not typed in here: they are copied from a real job that the built bin runs first
// (`jobs run -- true`), so a generated log has exactly the keys, order and types the product writes, and
// follows the schema if it changes. Only values change: ids, times, commands, exit codes, pids.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { capture, eventually, jobs, tempDir } from "./lib.mjs"

/** Bump when the generated content changes, so that homes cached in /tmp are rebuilt. */
const FORMAT = 2

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/** A deterministic PRNG (mulberry32), so the same n always gives the same home. */
const prng = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A ULID: 10 characters of millisecond time (Crockford base 32), then 16 random ones. */
const ulid = (ms, random) => {
  let time = ""
  let t = ms
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  let rest = ""
  for (let i = 0; i < 16; i++) rest += ALPHABET[Math.floor(random() * 32)]
  return time + rest
}

/** The Submitted, Started and Exited events of a real `jobs run -- true`, parsed. */
export const realEvents = async () => {
  const home = tempDir("jobs-bench-template-")
  const cwd = tempDir("jobs-bench-template-cwd-")
  const id = JSON.parse(capture(jobs("--json", "run", "--", "true"), { cwd, env: { ...benchEnvWith(home) } })).id
  const path = Path.join(home, "jobs", id, "events.jsonl")
  const lines = await eventually(() => {
    const text = Fs.existsSync(path) ? Fs.readFileSync(path, "utf8") : ""
    const events = text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l))
    return events.some((e) => e.type === "Exited") ? events : undefined
  }, "the template job to exit")
  // `jobs events ID` prints the same lines: a cross-check that the file is the contract
  const printed = capture(jobs("events", id), { cwd, env: benchEnvWith(home) })
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l))
  if (JSON.stringify(printed) !== JSON.stringify(lines)) throw new Error("`jobs events` differs from events.jsonl")
  const byType = Object.fromEntries(lines.map((e) => [e.type, e]))
  for (const t of ["Submitted", "Started", "Exited"]) if (byType[t] === undefined) throw new Error(`no ${t} event`)
  return { submitted: byType.Submitted, started: byType.Started, exited: byType.Exited }
}

const benchEnvWith = (home) => {
  const e = { ...process.env, JOBS_HOME: home }
  delete e.NODE_EXTRA_CA_CERTS
  return e
}

const COMMANDS = [
  ["make", "test"],
  ["npm", "run", "build"],
  ["sh", "-c", "./train.py --epochs 10 2>&1 | tee train.log"],
  ["rsync", "-a", "data/", "backup:/srv/data/"],
  ["pytest", "-x", "tests/"],
  ["sleep", "5"],
  ["true"],
  ["cargo", "build", "--release"]
]

/** The projects of a generated home: the bench runs `jobs list` from the first, which holds a quarter of the jobs. */
export const projectsOf = (root) => [0, 1, 2, 3].map((i) => Path.join(root, "projects", `p${i}`))

/**
 * Writes (or reuses) /tmp/jobs-bench-<n>: JOBS_HOME is `<root>/home`, projects under `<root>/projects`.
 * Returns the home and the project to run `jobs list` from.
 */
export const ensureHome = async (n, { log = () => {}, template } = {}) => {
  const root = `/tmp/jobs-bench-${n}`
  const home = Path.join(root, "home")
  const projects = projectsOf(root)
  const markerPath = Path.join(root, "generated.json")
  const marker = { format: FORMAT, n }
  try {
    if (JSON.stringify(JSON.parse(Fs.readFileSync(markerPath, "utf8"))) === JSON.stringify(marker)) {
      return { home, project: projects[0], reused: true }
    }
  } catch {
    // not generated yet (or by an older version): build it
  }
  const tpl = template ?? (await realEvents())
  log(`  generating ${n.toLocaleString("en")} jobs in ${root} ...`)
  const t0 = Date.now()
  Fs.rmSync(root, { recursive: true, force: true })
  for (const p of projects) Fs.mkdirSync(p, { recursive: true })
  const jobsDir = Path.join(home, "jobs")
  Fs.mkdirSync(jobsDir, { recursive: true, mode: 0o700 })
  Fs.mkdirSync(Path.join(home, "keys"), { mode: 0o700 })

  const random = prng(n)
  // one job every ~40 s, ending a day ago: ids sort by time because times only grow
  let t = Date.now() - 86_400_000 - n * 40_000
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(random() * 80_000)
    const id = ulid(t, random)
    const project = projects[i % projects.length]
    const command = COMMANDS[Math.floor(random() * COMMANDS.length)]
    const duration = 5 + Math.floor(random() * 600_000)
    const pid = 1000 + Math.floor(random() * 4_000_000)
    const startTime = 10_000 + Math.floor(random() * 1e8)
    const roll = random()
    const [code, signal] =
      roll < 0.9 ? [0, null] : roll < 0.98 ? [1 + Math.floor(random() * 3), null] : [null, "SIGTERM"]
    const submitted = {
      ...tpl.submitted,
      id: ulid(t + 1, random),
      job: id,
      at: new Date(t + 1).toISOString(),
      spec: {
        ...tpl.submitted.spec,
        command,
        name: i % 10 === 0 ? `job-${i}` : null,
        cwd: project,
        project
      }
    }
    const started = {
      ...tpl.started,
      id: `${id}.started`,
      job: id,
      at: new Date(t + 12).toISOString(),
      pid,
      pgid: pid,
      startTime,
      supervisorPid: pid - 5,
      supervisorStartTime: startTime
    }
    const exited = {
      ...tpl.exited,
      id: `${id}.exited`,
      job: id,
      at: new Date(t + 12 + duration).toISOString(),
      code,
      signal
    }
    const dir = Path.join(jobsDir, id)
    Fs.mkdirSync(dir, { mode: 0o700 })
    Fs.writeFileSync(
      Path.join(dir, "events.jsonl"),
      `${JSON.stringify(submitted)}\n${JSON.stringify(started)}\n${JSON.stringify(exited)}\n`,
      { mode: 0o600 }
    )
    Fs.writeFileSync(Path.join(dir, "output.log"), "", { mode: 0o600 })
    if ((i + 1) % 20_000 === 0) log(`    ${(i + 1).toLocaleString("en")}`)
  }
  Fs.writeFileSync(markerPath, JSON.stringify(marker))
  log(`  generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return { home, project: projects[0], reused: false }
}
