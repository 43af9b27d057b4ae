// Progress parsing: tqdm bars (with their \r redraws), the JOBS_PROGRESS file, user patterns, the view with ETA,
// and reading only the tail of a huge log.

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as JobState from "../../core/job_state.ts"
import * as Progress from "../../core/progress.ts"

describe("Progress.fromTqdm", () => {
  it("reads the last bar of tqdm's carriage-return redraws", () => {
    const text =
      "loading\n" +
      "train:   0%|          | 0/100 [00:00<?, ?it/s]\r" +
      "train:  44%|████▍     | 44/100 [00:09<00:12, 4.48it/s]\r" +
      "train:  45%|████▌     | 45/100 [00:10<00:12, 4.50it/s]"
    expect(Progress.fromTqdm(text)).toEqual({
      done: 45,
      total: 100,
      message: "train",
      source: "tqdm",
      rate: 4.5,
      etaSecs: 12
    })
  })
  it("understands seconds per item, unknown rates, unit scaling and hours", () => {
    expect(Progress.fromTqdm(" 10%|█         | 10/100 [00:21<03:09, 2.10s/it]")?.rate).toBeCloseTo(1 / 2.1)
    expect(Progress.fromTqdm("  0%|          | 0/100 [00:00<?, ?it/s]")).toMatchObject({ rate: null, etaSecs: null })
    expect(Progress.fromTqdm(" 12%|█▏        | 1.2k/10.0k [00:03<1:02:03, 400it/s]")).toMatchObject({
      done: 1200,
      total: 10000,
      etaSecs: 3723
    })
  })
  it("finds the bar at the end of a long line, and its description after the last bar", () => {
    const text = `${"x: 1|".repeat(200_000)}\repoch 2: train:  45%|████▌     | 45/100 [00:10<00:12, 4.50it/s]`
    expect(Progress.fromTqdm(text)).toMatchObject({ done: 45, total: 100, message: "epoch 2: train" })
    expect(Progress.fromTqdm(`${"9".repeat(1_000_000)}%|`)).toBe(undefined)
  })
  it("finds nothing in ordinary output", () => {
    expect(Progress.fromTqdm("step 5 of 10\n50% done\n")).toBe(undefined)
  })
})

describe("Progress.fromFile", () => {
  it("takes the last well-formed line, ignores malformed ones and a line still being written", () => {
    expect(Progress.fromFile("1 10\n2/10 two\nnot progress\n3 10 three and more\n4 1")).toEqual({
      done: 3,
      total: 10,
      message: "three and more",
      source: "file"
    })
    expect(Progress.fromFile("7 ?\n")).toMatchObject({ done: 7, total: null })
    expect(Progress.fromFile("garbage\n\n")).toBe(undefined)
  })
})

describe("Progress.fromPattern", () => {
  it("uses the named groups of the last match", () => {
    const pattern = "step (?<done>\\d+)/(?<total>\\d+)(?: (?<message>.*))?"
    expect(Progress.fromPattern("step 1/8\nstep 2/8 warmup\r", pattern)).toEqual({
      done: 2,
      total: 8,
      message: "warmup",
      source: "pattern"
    })
    expect(Progress.fromPattern("step 1/8", "(")).toBe(undefined)
  })
  it("sees the end of the last lines only: the end of a 10 MB line, not its start", () => {
    const pattern = ".*?step (?<done>\\d+) of (?<total>\\d+)"
    expect(Progress.fromPattern(`${"1".repeat(10_000_000)} step 3 of 12`, pattern)).toMatchObject({ done: 3 })
    expect(Progress.fromPattern(`step 1 of 12 ${"1".repeat(10_000_000)}`, pattern)).toBe(undefined)
    expect(Progress.fromPattern("step 2 of 12\nlater output\n", pattern)).toMatchObject({ done: 2, total: 12 })
  })
})

describe("Progress.view", () => {
  const running: JobState.JobState = {
    ...JobState.initial("01JAAAAAAAAAAAAAAAAAAAAAAA"),
    status: "running",
    startedAt: new Date(1_000_000).toISOString()
  }
  it("derives rate and ETA from the time the job has run when the source does not say them", () => {
    const v = Progress.view({ done: 30, total: 120, message: null, source: "file" }, running, 1_000_000 + 10_000)
    expect(v).toMatchObject({ percent: 25, rate: 3, etaSecs: 30 })
  })
  it("has no ETA once the job ended", () => {
    const ended = { ...running, status: "completed" as const, finishedAt: new Date(1_020_000).toISOString() }
    expect(Progress.view({ done: 5, total: 10, message: null, source: "file" }, ended).etaSecs).toBe(null)
  })
})

describe("Progress.read", () => {
  it("reads only the tail of a 1 GB log", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobs-progress-"))
    const log = Path.join(dir, "output.log")
    try {
      // a sparse 1 GB file whose last bytes are a tqdm bar
      const fd = Fs.openSync(log, "w")
      const bar = "run:  50%|█████     | 500/1000 [00:10<00:10, 50.00it/s]"
      Fs.writeSync(fd, bar, 1024 ** 3)
      Fs.closeSync(fd)
      const io = () => Number(/rchar: (\d+)/.exec(Fs.readFileSync("/proc/self/io", "utf8"))![1])
      const before = io()
      const found = Progress.read({ dir, logPath: log }, null)
      const read = io() - before
      expect(found).toMatchObject({ done: 500, total: 1000, source: "tqdm" })
      expect(read).toBeLessThan(1024 * 1024)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
