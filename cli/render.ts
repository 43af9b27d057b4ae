// Everything the CLI prints: tables, JSON documents and lines, notes and one-line errors. The only place that
// writes to stdout and stderr.

import * as Os from "node:os"
import * as Effect from "effect/Effect"
import * as Duration from "../core/duration.ts"
import type * as JobState from "../core/job_state.ts"

/** Writes text to stdout, respecting back-pressure (so a 200 MB log streams in bounded memory). */
export const out = (text: string | Uint8Array): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (process.stdout.write(text)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })

/** One line to stdout. */
export const line = (text: string) => out(text + "\n")

/** One JSON document to stdout. */
export const json = (value: unknown) => out(JSON.stringify(value, null, 2) + "\n")

/** One JSON line to stdout (streams). */
export const jsonLine = (value: unknown) => out(JSON.stringify(value) + "\n")

/** A note or warning to stderr (never part of a --json document). */
export const note = (text: string) => Effect.sync(() => void process.stderr.write(text + "\n"))

/** Quotes an argument for display the way a shell would accept it back. */
export const shellQuote = (arg: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`

/** An argv for display. */
export const commandText = (argv: ReadonlyArray<string>): string => argv.map(shellQuote).join(" ")

/** A status with its exit code or signal: `completed [0]`, `failed [3]`, `stopped [SIGTERM]`. */
export const statusText = (job: JobState.JobObject): string =>
  job.exitCode !== null
    ? `${job.status} [${job.exitCode}]`
    : job.signal !== null
      ? `${job.status} [${job.signal}]`
      : job.position !== null
        ? `${job.status} (#${job.position})`
        : job.status

const truncate = (text: string, width: number): string =>
  text.length <= width ? text : text.slice(0, Math.max(0, width - 1)) + "…"

const home = Os.homedir()
/** A path with the home directory shown as ~. */
export const tildify = (path: string | null): string =>
  path === null ? "-" : path === home ? "~" : path.startsWith(home + "/") ? "~" + path.slice(home.length) : path

const secondsSince = (iso: string | null, until: number): number | undefined =>
  iso === null ? undefined : (until - Date.parse(iso)) / 1000

/** The age of a job (since created) as text. */
export const age = (job: JobState.JobObject, now = Date.now()): string => {
  const s = secondsSince(job.createdAt, now)
  return s === undefined ? "-" : `${Duration.format(s)} ago`
}

/** How long a job ran (or has been running). */
export const duration = (job: JobState.JobObject, now = Date.now()): string => {
  if (job.startedAt === null) return "-"
  const end = job.finishedAt === null ? now : Date.parse(job.finishedAt)
  return Duration.format((end - Date.parse(job.startedAt)) / 1000)
}

/** `1:02:03` or `2:05`. */
const clock = (secs: number): string => {
  const s = Math.round(secs)
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60]
  return (
    (hms[0]! > 0 ? `${hms[0]}:${String(hms[1]).padStart(2, "0")}` : `${hms[1]}`) + `:${String(hms[2]).padStart(2, "0")}`
  )
}

const count = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1))

/** The PROGRESS column: `45% eta 0:12`, `120/?`, or `-`. */
export const progressText = (job: JobState.JobObject): string => {
  const p = job.progress
  if (p === null) return "-"
  const head = p.percent !== null ? `${Math.floor(p.percent)}%` : `${count(p.done)}/?`
  return p.etaSecs !== null && job.finishedAt === null ? `${head} eta ${clock(p.etaSecs)}` : head
}

/** Progress in full: `45/100 (45%) · 4.5/s · eta 0:12 · message`. */
export const progressDetail = (p: NonNullable<JobState.JobObject["progress"]>): string =>
  [
    `${count(p.done)}/${p.total === null ? "?" : count(p.total)}${p.percent === null ? "" : ` (${p.percent}%)`}`,
    p.rate === null ? undefined : `${p.rate >= 10 ? Math.round(p.rate) : p.rate.toFixed(2)}/s`,
    p.etaSecs === null ? undefined : `eta ${clock(p.etaSecs)}`,
    p.message ?? undefined
  ]
    .filter((x) => x !== undefined)
    .join(" · ")

/** A one-line bar for a terminal: `[#########           ] 45% 45/100 eta 0:12`. */
export const progressBar = (job: JobState.JobObject, width = 24): string => {
  const p = job.progress
  if (p === null) return `${job.shortId} ${statusText(job)} ${duration(job)}`
  const filled = p.percent === null ? 0 : Math.round((p.percent / 100) * width)
  return `${job.shortId} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${progressDetail(p)}`
}

/** A plain table with left-aligned columns. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const fmt = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [fmt(headers), ...rows.map(fmt)].join("\n") + "\n"
}

/** The `docker ps`-style table of jobs. */
export const jobsTable = (jobs: ReadonlyArray<JobState.JobObject>): string => {
  const now = Date.now()
  // the WORKER column appears when some job ran elsewhere, the SLURM column (its Slurm job id) when one ran there
  const remote = jobs.some((j) => j.worker !== null)
  const slurm = jobs.some((j) => j.slurmJobId !== null)
  return table(
    [
      "ID",
      "NAME",
      "STATUS",
      "PROGRESS",
      "COMMAND",
      ...(remote ? ["WORKER"] : []),
      ...(slurm ? ["SLURM"] : []),
      "CWD",
      "AGE",
      "DURATION"
    ],
    jobs.map((j) => [
      j.shortId,
      truncate(j.name ?? "-", 20),
      statusText(j),
      progressText(j),
      truncate(commandText(j.command).replace(/\s+/g, " "), 40),
      ...(remote ? [j.worker ?? "-"] : []),
      ...(slurm ? [j.slurmJobId ?? "-"] : []),
      truncate(tildify(j.cwd), 30),
      age(j, now),
      duration(j, now)
    ])
  )
}

/** One job in full, as `key: value` lines. */
export const jobDetail = (job: JobState.JobObject): string => {
  const rows: Array<[string, string]> = [
    ["id", job.id],
    ["short id", job.shortId],
    ["name", job.name ?? "-"],
    ["status", statusText(job)],
    ["command", commandText(job.command)],
    ["cwd", job.cwd ?? "-"],
    ["project", job.project ?? "-"],
    ["executor", job.executor],
    ["slurm job", job.slurmJobId ?? "-"],
    ["pid", job.pid === null ? "-" : String(job.pid)],
    ["created", job.createdAt ?? "-"],
    ["started", job.startedAt ?? "-"],
    ["finished", job.finishedAt ?? "-"],
    ["duration", duration(job)],
    ["progress", job.progress === null ? "-" : progressDetail(job.progress)],
    ["timeout", job.timeoutSecs === null ? "-" : Duration.format(job.timeoutSecs)],
    ["key", job.key ?? "-"],
    ["retry of", job.retryOf ?? "-"],
    ["reason", job.reason ?? "-"],
    ["cost", job.cost === null ? "-" : `$${job.cost.toFixed(4)}`],
    ["log", job.logPath],
    ["events", job.eventsPath]
  ]
  return (
    rows
      .filter(([k, v]) => v !== "-" || ["name", "status", "pid", "finished"].includes(k))
      .map(([k, v]) => `${(k + ":").padEnd(10)} ${v}`)
      .join("\n") + "\n"
  )
}
