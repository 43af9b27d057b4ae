// Everything the CLI prints: tables, JSON documents and lines, notes and one-line errors. The only place that
// writes to stdout and stderr.

import * as Os from "node:os"
import * as Effect from "effect/Effect"
import * as Duration from "../core/duration.ts"
import type * as JobState from "../core/job_state.ts"
import * as Table from "./table.ts"

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

/**
 * Runs `effect` with a spinner and `text` on stderr while it takes longer than a moment, on a terminal only
 * (nothing extra into a pipe or a file, nor with NO_COLOR... which is about colour: the spinner stays plain text).
 */
export const spinning = <A, E, R>(text: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  if (process.stderr.isTTY !== true) return effect
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
  return Effect.suspend(() => {
    let n = 0
    let shown = false
    const timer = setInterval(() => {
      shown = true
      process.stderr.write(`\r\u001b[K${frames[n++ % frames.length]} ${text}`)
    }, 120)
    return Effect.ensuring(
      effect,
      Effect.sync(() => {
        clearInterval(timer)
        if (shown) process.stderr.write("\r\u001b[K")
      })
    )
  })
}

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

/** How a job list is drawn: the terminal's width (undefined: no limit), and whether statuses are coloured. */
export interface TableStyle {
  readonly width?: number | undefined
  readonly color?: boolean | undefined
}

const STATUS_COLOURS: Record<string, string> = {
  running: "36",
  completed: "32",
  failed: "31",
  "failed-to-start": "31",
  "timed-out": "33",
  stopped: "33",
  interrupted: "35",
  pending: "2",
  unknown: "2"
}

/** How `list` draws to this stdout: a terminal's width and colours (unless NO_COLOR, or `--color`). */
export const tableStyle = (color: "auto" | "always" | "never" = "auto"): TableStyle => {
  const tty = process.stdout.isTTY === true
  const columns = Number(process.env.COLUMNS)
  return {
    width: tty ? process.stdout.columns : Number.isInteger(columns) && columns > 0 ? columns : undefined,
    color: color === "always" || (color === "auto" && tty && (process.env.NO_COLOR ?? "") === "")
  }
}

/**
 * The `docker ps`-style table of jobs, fitted to `style.width`: commands and paths cut in the middle, names at the
 * end; CWD only when the rows do not share one, GROUP, WORKER and SLURM only when some row has one, PROGRESS only
 * when some job reports progress; when even cut cells do not fit, CWD, DURATION, PROGRESS, GROUP and AGE go first.
 */
export const jobsTable = (jobs: ReadonlyArray<JobState.JobObject>, style: TableStyle = {}): string => {
  const now = Date.now()
  const some = (f: (j: JobState.JobObject) => boolean) => jobs.some(f)
  const columns: Array<[Table.Column, (j: JobState.JobObject) => string]> = [
    [{ header: "ID", cut: "never", min: 8 }, (j) => j.shortId],
    [{ header: "NAME", cut: "end", min: 6 }, (j) => j.name ?? "-"],
    [{ header: "STATUS", cut: "never", min: 6 }, statusText],
    ...(some((j) => j.progress !== null)
      ? [
          [{ header: "PROGRESS", cut: "end", min: 4, drop: 3 }, progressText] as [
            Table.Column,
            (j: JobState.JobObject) => string
          ]
        ]
      : []),
    [{ header: "COMMAND", cut: "middle", min: 12 }, (j) => commandText(j.command).replace(/\s+/g, " ")],
    ...(some((j) => j.group !== null)
      ? [
          [{ header: "GROUP", cut: "end", min: 5, drop: 4 }, (j: JobState.JobObject) => j.group ?? "-"] as [
            Table.Column,
            (j: JobState.JobObject) => string
          ]
        ]
      : []),
    ...(some((j) => j.worker !== null)
      ? [
          [{ header: "WORKER", cut: "end", min: 6, drop: 6 }, (j: JobState.JobObject) => j.worker ?? "-"] as [
            Table.Column,
            (j: JobState.JobObject) => string
          ]
        ]
      : []),
    ...(some((j) => j.slurmJobId !== null)
      ? [
          [{ header: "SLURM", cut: "never", min: 5, drop: 7 }, (j: JobState.JobObject) => j.slurmJobId ?? "-"] as [
            Table.Column,
            (j: JobState.JobObject) => string
          ]
        ]
      : []),
    ...(new Set(jobs.map((j) => j.cwd)).size > 1
      ? [
          [{ header: "CWD", cut: "middle", min: 10, drop: 1 }, (j: JobState.JobObject) => tildify(j.cwd)] as [
            Table.Column,
            (j: JobState.JobObject) => string
          ]
        ]
      : []),
    [{ header: "AGE", cut: "never", min: 3, drop: 5 }, (j) => age(j, now)],
    [{ header: "DURATION", cut: "never", min: 3, drop: 2 }, (j) => duration(j, now)]
  ]
  const paint =
    style.color === true
      ? (column: Table.Column, row: number, text: string) => {
          const code = column.header === "STATUS" ? STATUS_COLOURS[jobs[row]!.status] : undefined
          if (code === undefined) return text
          const trimmed = text.trimEnd()
          return `\u001b[${code}m${trimmed}\u001b[0m${text.slice(trimmed.length)}`
        }
      : undefined
  return Table.render(
    columns.map(([c]) => c),
    jobs.map((j) => columns.map(([, cell]) => cell(j))),
    { width: style.width, paint }
  )
}

/** One job in full, as `key: value` lines. */
export const jobDetail = (job: JobState.JobObject, more: ReadonlyArray<[string, string]> = []): string => {
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
    ["cost", job.cost === null ? "-" : `$${job.cost.toFixed(4)}${job.finishedAt === null ? " so far" : ""}`],
    ...more,
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
