// The Slurm executor's pure parts: the fold of Slurm's events, the sbatch options of a spec, the batch script, and
// the reading of `scontrol show job -o`.
import { describe, expect, it } from "@effect/vitest"
import * as Slurm from "../../adapters/slurm.ts"
import * as JobState from "../../core/job_state.ts"
import * as Shell from "../../core/shell.ts"
import type { Event } from "../../events/mod.ts"

const job = "01JAAAAAAAAAAAAAAAAAAAAAAA"
let n = 0
const base = () => ({ v: 1, id: `e${n}`, job, at: new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString() })
const spec: Event.JobSpec = {
  command: ["python", "train.py"],
  name: "train",
  cwd: "/src",
  project: "/src",
  executor: "slurm",
  worker: null,
  timeoutSecs: null,
  graceSecs: 10,
  key: null,
  retryOf: null,
  slurm: { partition: "gpu", cpus: 8, mem: "32G", gpus: "a100:1", sbatchArgs: ["--qos=high"] }
}
const submitted = (): Event.Event => ({ type: "Submitted", ...base(), spec })
const slurmSubmitted = (): Event.Event => ({ type: "SlurmSubmitted", ...base(), slurmJobId: "42" })
const slurmEnded = (state: string, signal: string | null = null): Event.Event => ({
  type: "SlurmEnded",
  ...base(),
  slurmJobId: "42",
  state,
  signal,
  reason: `Slurm ended job 42 ${state}`
})
const exited = (code: number): Event.Event => ({ type: "Exited", ...base(), code, signal: null })

describe("the fold of Slurm's events", () => {
  it("records the Slurm job id and keeps the job pending", () => {
    const state = JobState.fold(job, [submitted(), slurmSubmitted()])
    expect(state).toMatchObject({ status: "pending", slurmJobId: "42" })
    expect(JobState.toObject(state, { logPath: "l", eventsPath: "e" }).slurmJobId).toBe("42")
  })

  it("maps Slurm's end to a status, never completed", () => {
    const statuses = [
      "CANCELLED",
      "TIMEOUT",
      "DEADLINE",
      "OUT_OF_MEMORY",
      "NODE_FAIL",
      "PREEMPTED",
      "BOOT_FAIL",
      "COMPLETED",
      "FAILED"
    ].map((s) => JobState.fold(job, [submitted(), slurmSubmitted(), slurmEnded(s)]).status)
    expect(statuses).toEqual([
      "stopped",
      "timed-out",
      "timed-out",
      "failed",
      "interrupted",
      "interrupted",
      "interrupted",
      "interrupted",
      "interrupted"
    ])
  })

  it("ignores Slurm's end after the supervisor's, and a second one", () => {
    expect(JobState.fold(job, [submitted(), slurmSubmitted(), exited(0), slurmEnded("CANCELLED")]).status).toBe(
      "completed"
    )
    const twice = JobState.fold(job, [submitted(), slurmEnded("CANCELLED", "SIGTERM"), slurmEnded("NODE_FAIL")])
    expect(twice).toMatchObject({ status: "stopped", signal: "SIGTERM", reason: "Slurm ended job 42 CANCELLED" })
  })
})

describe("Slurm.sbatchOptions", () => {
  it("maps the flags, the timeout plus grace in whole minutes, and the user's arguments last", () => {
    expect(Slurm.sbatchOptions({ ...spec, timeoutSecs: 7200 }, "jobs-x")).toEqual([
      "--parsable",
      "--job-name=jobs-x",
      "--time=121",
      "--partition=gpu",
      "--cpus-per-task=8",
      "--mem=32G",
      "--gpus=a100:1",
      "--qos=high"
    ])
    expect(Slurm.timeLimitMinutes(3, 1)).toBe(1)
    expect(Slurm.timeLimitMinutes(60, 10)).toBe(2)
  })

  it("makes a safe job name and refuses pattern characters in --output", () => {
    expect(Slurm.jobName(job, "a b'; $(rm -rf /)")).toBe("jobs-aaaaaaaa-a_b_rm_-rf_")
    expect(Slurm.jobName(job, null)).toBe("jobs-aaaaaaaa")
    expect(Slurm.outputPath("/home/me/.jobs/jobs/X/slurm.out")).toBe("/home/me/.jobs/jobs/X/slurm.out")
    expect(Slurm.outputPath("/home/100%/x")).toBe("/dev/null")
  })

  it("writes a batch script whose words are quoted", () => {
    const text = Slurm.batchScript({
      supervisor: Shell.quote("/h o'me/bin/s.sh"),
      jobDir: Shell.quote("/h o'me/jobs/X"),
      id: Shell.quote(job),
      timeoutSecs: 90.5,
      graceSecs: 10
    })
    expect(text).toContain(`exec /bin/sh '/h o'\\''me/bin/s.sh' --slurm '/h o'\\''me/jobs/X' '${job}' 91 10 - --\n`)
  })
})

describe("Slurm.parseQuery", () => {
  it("reads JobState, Reason and the signal of ExitCode", () => {
    const line =
      "JobId=7 JobName=jobs-x UserId=root(0) JobState=PENDING Reason=Resources Dependency=(null) ExitCode=0:0 TimeLimit=00:01:00"
    expect(Slurm.parseQuery(true, `${line}\n`, "")).toEqual({
      _tag: "Found",
      job: { jobState: "PENDING", reason: "Resources", signal: null }
    })
    expect(Slurm.parseQuery(true, "JobId=7 JobState=CANCELLED Reason=None ExitCode=0:15\n", "")).toEqual({
      _tag: "Found",
      job: { jobState: "CANCELLED", reason: null, signal: "SIGTERM" }
    })
    expect(Slurm.parseQuery(false, "", "slurm_load_jobs error: Invalid job id specified\n")).toEqual({ _tag: "Gone" })
    expect(Slurm.parseQuery(false, "", "slurm_load_jobs error: Unable to contact slurm controller\n")._tag).toBe(
      "Unreachable"
    )
    expect(Slurm.isEnded("COMPLETING")).toBe(false)
    expect(Slurm.isEnded("TIMEOUT")).toBe(true)
  })
})
