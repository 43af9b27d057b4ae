// jobs top: a full-screen live view of jobs, like htop for jobs. Keys open a job's logs, stop, retry, attach or
// remove it, filter and switch between this project and every project. Not on a terminal: one plain table.
import * as ChildProcess from "node:child_process"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as Ids from "../../core/ids.ts"
import type * as JobState from "../../core/job_state.ts"
import { Jobs } from "../../core/jobs.ts"
import { projectScope } from "../_shared.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const ESC = "\u001b["
const KEYS = "↑↓ select  l logs  s stop  r retry  a attach  x remove  / filter  p project/all  q quit"
const LOG_KEYS = "l, q or Esc: back to the list (the output follows the job while it runs)"

/** The state of the view between two frames. */
interface View {
  all: boolean
  filter: string
  typing: boolean
  selected: number
  message: string
  confirm: string | null
  jobs: ReadonlyArray<JobState.JobObject>
  /** The job whose output fills the screen (l), with its last lines; null: the list. */
  logs: { readonly job: JobState.JobObject; text: string } | null
}

const matches = (job: JobState.JobObject, filter: string): boolean =>
  filter === "" ||
  [job.name ?? "", job.shortId, job.status, Render.commandText(job.command), job.group ?? "", job.worker ?? ""].some(
    (field) => field.toLowerCase().includes(filter.toLowerCase())
  )

/** The output screen: the job's last lines under a title, control characters shown as spaces. */
const logFrame = (view: View, columns: number, rows: number): string => {
  const logs = view.logs!
  const job = logs.job
  const title = `jobs top — output of ${Ids.label(job.id, job.name)} — ${job.status}`
  const lines = logs.text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => l.replace(/[\u0000-\u001f\u007f]/g, " "))
  const body = lines.slice(-(rows - 3)).map((l) => l.slice(0, columns))
  const out = [`${ESC}1m${title.slice(0, columns)}${ESC}0m`, ...body]
  while (out.length < rows - 1) out.push("")
  out.push(`${ESC}2m${LOG_KEYS.slice(0, columns)}${ESC}0m`)
  return `${ESC}H${out.map((l) => `${l}${ESC}K`).join("\r\n")}${ESC}J`
}

/** One frame: a title line, the table with the selected row in reverse video, a status line and the keys. */
const frame = (view: View, columns: number, rows: number): string => {
  if (view.logs !== null) return logFrame(view, columns, rows)
  const room = Math.max(1, rows - 4)
  const jobs = view.jobs
  const first = Math.max(0, Math.min(view.selected - room + 1, jobs.length - room))
  const shown = jobs.slice(Math.max(0, first), Math.max(0, first) + room)
  const running = jobs.filter((j) => j.status === "running").length
  const title = `jobs top — ${view.all ? "every project" : "this project"} — ${jobs.length} jobs, ${running} running${
    view.filter === "" ? "" : ` — filter: ${view.filter}`
  }`
  const table = shown.length === 0 ? "  no jobs\n" : Render.jobsTable(shown, { width: columns, color: true })
  const lines = table.replace(/\n$/, "").split("\n")
  const body = lines.map((line, i) => {
    const index = first + i - 1
    return i > 0 && index === view.selected ? `${ESC}7m${line}${ESC}0m` : line
  })
  const status = view.typing ? `/${view.filter}` : view.confirm !== null ? view.confirm : view.message
  const out = [`${ESC}1m${title.slice(0, columns)}${ESC}0m`, ...body]
  while (out.length < rows - 2) out.push("")
  out.push(status.slice(0, columns), `${ESC}2m${KEYS.slice(0, columns)}${ESC}0m`)
  return `${ESC}H${out.map((l) => `${l}${ESC}K`).join("\r\n")}${ESC}J`
}

/**
 * Runs `jobs ARGS` (this very program): with the terminal (`inherit`, outside the full-screen view), or quietly,
 * keeping the first line it said on stderr.
 */
const runJobs = (
  args: ReadonlyArray<string>,
  inherit: boolean
): Promise<{ readonly code: number; readonly said: string }> =>
  new Promise((resolve) => {
    const child = ChildProcess.spawn(process.execPath, ["--", process.argv[1]!, ...args], {
      stdio: inherit ? "inherit" : ["ignore", "ignore", "pipe"]
    })
    let err = ""
    child.stderr?.on("data", (d) => (err += d))
    child.on("close", (code) => resolve({ code: code ?? 1, said: err.split("\n")[0] ?? "" }))
    child.on("error", (e) => resolve({ code: 1, said: e.message }))
  })

const options = {
  all: Options.boolean("all").pipe(Options.withAlias("a"), Options.withDescription("Jobs of every project")),
  interval: Options.integer("interval").pipe(
    Options.withDescription("Seconds between refreshes (default 1)"),
    Options.withDefault(1)
  )
}

/** `jobs top` */
export const command = Command.make(
  "top",
  options,
  Effect.fn("jobs.top")(function* ({ all, interval }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const tty = process.stdout.isTTY === true && process.stdin.isTTY === true
    const read = (everyProject: boolean, limit: number) =>
      Effect.map(jobs.list({ project: projectScope(everyProject, invocation.cwd), limit }), ({ jobs: list }) => list)
    if (!tty || invocation.json) {
      // not a terminal: the view once, as a table (or JSON)
      const list = yield* read(all, 50)
      if (invocation.json) return yield* Render.json(list)
      return yield* list.length === 0 ? Render.note("no jobs") : Render.out(Render.jobsTable(list, Render.tableStyle()))
    }
    const runtime = yield* Effect.runtime<never>()
    const run = <A, E>(effect: Effect.Effect<A, E>) => Runtime.runPromise(runtime)(effect)
    yield* Effect.promise(
      () =>
        new Promise<void>((done) => {
          const view: View = {
            all,
            filter: "",
            typing: false,
            selected: 0,
            message: "",
            confirm: null,
            jobs: [],
            logs: null
          }
          let pending: (() => Promise<void>) | null = null
          let busy = false
          let closed = false
          const size = () => ({ columns: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 })
          const draw = () => {
            if (closed || busy) return
            const { columns, rows } = size()
            process.stdout.write(frame(view, columns, rows))
          }
          const refresh = async () => {
            if (closed || busy) return
            try {
              const list = await run(read(view.all, 500))
              view.jobs = list.filter((j) => matches(j, view.filter))
              view.selected = Math.max(0, Math.min(view.selected, view.jobs.length - 1))
              if (view.logs !== null) {
                const id = view.logs.job.id
                const { rows } = size()
                const text = await run(
                  jobs.output(id, { tailLines: Math.max(1, rows - 3) }).pipe(
                    Stream.decodeText(),
                    Stream.runFold("", (a, b) => a + b),
                    Effect.orElseSucceed(() => "(the output cannot be read)")
                  )
                )
                if (view.logs?.job.id === id) {
                  view.logs.text = text
                  const job = list.find((j) => j.id === id)
                  if (job !== undefined) view.logs = { job, text }
                }
              }
            } catch (e) {
              view.message = e instanceof Error ? e.message : String(e)
            }
            draw()
          }
          const enter = () => {
            process.stdout.write(`${ESC}?1049h${ESC}?25l${ESC}2J`)
            process.stdin.setRawMode(true)
            process.stdin.resume()
          }
          const leave = () => {
            process.stdin.setRawMode(false)
            process.stdout.write(`${ESC}?25h${ESC}?1049l`)
          }
          // a command that needs the terminal (logs in a pager, attach): leave the view, run it, come back
          // Ctrl+C there ends what runs there (a `logs -f`), not the view
          const ignore = () => {}
          const withTerminal = async (args: ReadonlyArray<string>) => {
            busy = true
            leave()
            process.stdin.pause()
            process.on("SIGINT", ignore)
            const { code, said } = await runJobs(args, true)
            process.off("SIGINT", ignore)
            enter()
            busy = false
            view.message = code === 0 || code === 130 ? "" : said
            await refresh()
          }
          const action = async (args: ReadonlyArray<string>, what: string) => {
            view.message = `${what}…`
            draw()
            const { code, said } = await runJobs(args, false)
            view.message = code === 0 ? `${what}: done` : `${what}: ${said || `failed (exit ${code})`}`
            await refresh()
          }
          const timer = setInterval(() => void refresh(), Math.max(1, interval) * 1000)
          const quit = () => {
            closed = true
            clearInterval(timer)
            process.stdin.off("data", onData)
            process.stdout.off("resize", draw)
            leave()
            process.stdin.pause()
            done()
          }
          // what the terminal sends at once (a paste, keys typed fast) is taken key by key; arrows are 3 bytes
          const onData = (data: Buffer) => {
            const text = data.toString("utf8")
            for (const key of text.match(/\u001b\[[0-9;]*[A-Za-z~]|\u001b|[\s\S]/gu) ?? []) onKey(key)
          }
          const onKey = (key: string) => {
            if (busy || closed) return
            const job = view.jobs[view.selected]
            if (view.typing) {
              if (key === "\r" || key === "\u001b") view.typing = false
              else if (key === "\u007f") view.filter = view.filter.slice(0, -1)
              else if (key >= " ") view.filter += key
              void refresh()
              return
            }
            if (view.logs !== null) {
              if (key === "q" || key === "l" || key === "\u001b" || key === "\r") {
                view.logs = null
                draw()
              }
              return
            }
            if (view.confirm !== null) {
              const next = pending
              view.confirm = null
              pending = null
              if ((key === "y" || key === "Y") && next !== null) void next()
              else draw()
              return
            }
            view.message = ""
            switch (key) {
              case "q":
              case "\u0003":
                return quit()
              case "\u001b[A":
              case "k":
                view.selected = Math.max(0, view.selected - 1)
                return draw()
              case "\u001b[B":
              case "j":
                view.selected = Math.min(view.jobs.length - 1, view.selected + 1)
                return draw()
              case "/":
                view.typing = true
                return draw()
              case "p":
                view.all = !view.all
                view.selected = 0
                return void refresh()
            }
            if (job === undefined) return
            const label = Ids.label(job.id, job.name)
            switch (key) {
              case "l":
              case "\r":
                view.logs = { job, text: "" }
                return void refresh()
              case "a":
                return void withTerminal(["attach", job.id])
              case "s":
                view.confirm = `stop ${label}? y/n`
                pending = () => action(["stop", job.id], `stop ${label}`)
                return draw()
              case "r":
                return void action(["retry", job.id], `retry ${label}`)
              case "x":
                view.confirm = `remove ${label} and its files? y/n`
                pending = () => action(["rm", job.id], `remove ${label}`)
                return draw()
            }
          }
          enter()
          process.stdin.on("data", onData)
          process.stdout.on("resize", draw)
          void refresh()
        })
    )
  })
).pipe(
  Command.withDescription(
    "A live full-screen view of jobs, like htop: ↑↓ to select, l its output (live), s stop, r retry, a attach, x remove, / filter, " +
      "p this project or every project, q quit. Not on a terminal: the table once"
  )
)
