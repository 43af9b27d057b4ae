// Progress and ETA as a user sees them: a real tqdm loop, the JOBS_PROGRESS protocol from a shell script, the
// PROGRESS column, and the bar `jobs wait` draws on a terminal (and does not draw into a pipe).
import * as ChildProcess from "node:child_process"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, json } from "../support/cli.ts"
import { readEvents, scratch, started } from "../support/job_files.ts"
import * as Terminal from "../support/terminal.ts"

const tmp = scratch()
const terminals = Terminal.terminals(tmp)
afterAll(() => {
  terminals.cleanup()
  tmp.cleanup()
})

interface Progress {
  readonly done: number
  readonly total: number | null
  readonly percent: number | null
  readonly etaSecs: number | null
  readonly message: string | null
  readonly source: string
}
interface JobJson {
  readonly id: string
  readonly shortId: string
  readonly status: string
  readonly progress: Progress | null
}

// Debian's python3-tqdm is for Debian's python3 (a python3 earlier on PATH may lack it)
const PYTHON = "/usr/bin/python3"
const hasTqdm = ChildProcess.spawnSync(PYTHON, ["-c", "import tqdm"]).status === 0
const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
const inCi = process.env.CI !== undefined
if (!hasTqdm && !inCi) console.warn("SKIPPING the tqdm test: install python3-tqdm (apt-get install python3-tqdm)")
if (!hasTmux && !inCi) console.warn("SKIPPING the terminal progress test: install tmux (apt-get install tmux)")

const run = (home: string, args: ReadonlyArray<string>) => {
  const r = jobs(["run", "--json", ...args], { home })
  expect(r.code, r.stderr).toBe(0)
  return json<JobJson>(r)
}
const status = (home: string, id: string) => json<JobJson>(jobs(["status", id, "--json"], { home }))

describe("progress", () => {
  it.skipIf(!hasTqdm && !inCi)("follows a real tqdm loop: rising while it runs, 100% at the end", async () => {
    const home = tmp.home()
    const script = "from tqdm import tqdm\nimport time\nfor _ in tqdm(range(40), desc='train'):\n    time.sleep(0.1)\n"
    const job = run(home, ["--", PYTHON, "-c", script])
    const first = await eventually(
      () => {
        const p = status(home, job.id).progress
        return p !== null && p.percent !== null && p.percent > 0 && p.percent < 60 ? p : undefined
      },
      15_000,
      "a first percentage"
    )
    expect(first).toMatchObject({ total: 40, message: "train", source: "tqdm" })
    const later = await eventually(
      () => {
        const p = status(home, job.id).progress
        return p !== null && p.percent !== null && p.percent > first.percent! ? p : undefined
      },
      15_000,
      "a higher percentage"
    )
    expect(later.done).toBeGreaterThan(first.done)
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    const end = status(home, job.id)
    expect(end.progress).toMatchObject({ done: 40, total: 40, percent: 100 })
    // recorded once in the log, so it outlives the output
    expect(readEvents(home, job.id).filter((e) => e.type === "ProgressRecorded")).toHaveLength(1)
    expect(status(home, job.id).progress?.percent).toBe(100)
    expect(readEvents(home, job.id).filter((e) => e.type === "ProgressRecorded")).toHaveLength(1)
    const table = jobs(["list", "--all"], { home })
    expect(table.stdout).toMatch(/PROGRESS/)
    expect(table.stdout).toMatch(new RegExp(`${job.shortId}.*100%`))
  })

  it("reads the JOBS_PROGRESS protocol from a shell script, ignoring a malformed line", async () => {
    const home = tmp.home()
    const script =
      'echo "1 4 fetching" >> "$JOBS_PROGRESS"; echo "2/4 building" >> "$JOBS_PROGRESS"; ' +
      'echo "this is not progress" >> "$JOBS_PROGRESS"; sleep 2; echo "4 4 done" >> "$JOBS_PROGRESS"'
    const job = run(home, ["--", "sh", "-c", script])
    const mid = await eventually(
      () => {
        const p = status(home, job.id).progress
        return p?.done === 2 ? p : undefined
      },
      10_000,
      "the second progress line"
    )
    expect(mid).toMatchObject({ done: 2, total: 4, percent: 50, message: "building", source: "file" })
    expect(status(home, job.id).status).toBe("running")
    expect(jobs(["list", "--all"], { home }).stdout).toMatch(new RegExp(`${job.shortId}.*running\\s+50%`))
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    expect(status(home, job.id).progress).toMatchObject({ done: 4, total: 4, percent: 100, message: "done" })
  })

  it("finds progress with --progress-pattern, and refuses a pattern without a done group", async () => {
    const home = tmp.home()
    const pattern = "step (?<done>\\d+) of (?<total>\\d+)"
    const job = run(home, ["--progress-pattern", pattern, "--", "sh", "-c", "echo 'step 3 of 12'; echo other"])
    jobs(["wait", job.id], { home })
    expect(status(home, job.id).progress).toMatchObject({ done: 3, total: 12, percent: 25, source: "pattern" })
    const bad = jobs(["run", "--progress-pattern", "step (\\d+)", "--", "true"], { home })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^Cannot use progress pattern .*named group/)
  })

  it("lists and shows a job whose output ends in a 10 MB line, with tqdm and a user's pattern looking", async () => {
    const home = tmp.home()
    // one line of digits: the old tqdm pattern looked for a description's ":" from every position of it (quadratic),
    // and a user's lazy pattern is cubic in the length of a line of digits
    const line = 'awk \'BEGIN { s = "1234567890"; for (i = 0; i < 1000000; i++) printf "%s", s }\''
    const plain = run(home, ["--", "sh", "-c", line])
    const patterned = run(home, ["--progress-pattern", ".*?(?<done>\\d+) of (?<total>\\d+)", "--", "sh", "-c", line])
    expect(jobs(["wait", plain.id, patterned.id], { home }).code).toBe(0)
    const list = jobs(["list", "--all", "--json"], { home })
    expect(list.code, list.stderr).toBe(0)
    expect(json<Array<JobJson>>(list).map((j) => [j.id, j.status, j.progress])).toEqual([
      [patterned.id, "completed", null],
      [plain.id, "completed", null]
    ])
    expect(status(home, patterned.id)).toMatchObject({ status: "completed", progress: null })
    expect(jobs(["status"], { home }).stdout).toMatch(/completed 2/)
  })

  it.skipIf(!hasTmux && !inCi)(
    "draws a moving bar on a terminal while waiting, and nothing extra into a pipe",
    async () => {
      const home = tmp.home()
      const steps = 'for i in 1 2 3 4 5 6 7 8; do echo "$i 8" >> "$JOBS_PROGRESS"; sleep 0.4; done'
      const job = run(home, ["--", "sh", "-c", steps])
      await started(home, job.id)
      const term = terminals.open(home)
      await term.waitFor(/^\$/m, "the shell prompt")
      term.type(`node -- '${BIN}' wait ${job.shortId}`)
      term.key("Enter")
      const bar = (percent: RegExp) => new RegExp(`${job.shortId} \\[#* *\\] \\d/8 \\(${percent.source}%\\)`)
      await term.waitFor(bar(/(12\.5|25|37\.5)/), "an early bar")
      await term.waitFor(bar(/(62\.5|75|87\.5)/), "a later bar")
      await term.waitFor(new RegExp(`^${job.shortId} completed \\[0\\]`, "m"), "the result line")

      const piped = run(home, [
        "--",
        "sh",
        "-c",
        'echo "1 2" >> "$JOBS_PROGRESS"; sleep 1; echo "2 2" >> "$JOBS_PROGRESS"'
      ])
      const r = jobs(["wait", piped.id], { home })
      expect(r.code).toBe(0)
      expect(r.stderr).toBe("")
      expect(r.stdout).toBe(`${piped.shortId} completed [0]\n`)
    }
  )
})
