// The fold, given/when/then: a sequence of events gives a state; nonsense events are ignored, never thrown.
import { describe, expect, it } from "@effect/vitest"
import * as JobState from "../../core/job_state.ts"
import type { Event } from "../../events/mod.ts"

const job = "01JAAAAAAAAAAAAAAAAAAAAAAA"
let n = 0
const at = () => new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString()
const base = () => ({ v: 1, id: `e${n}`, job, at: at() })

const submitted = (): Event.Event => ({
  type: "Submitted",
  ...base(),
  spec: {
    command: ["make"],
    name: "build",
    cwd: "/src",
    project: "/src",
    executor: "local",
    worker: null,
    timeoutSecs: null,
    graceSecs: 10,
    key: null,
    retryOf: null
  }
})
const started = (): Event.Event => ({
  type: "Started",
  ...base(),
  pid: 10,
  pgid: 10,
  host: "h",
  bootId: "b",
  startTime: 1,
  supervisorPid: 9,
  supervisorStartTime: 1
})
const exited = (code: number | null, signal: string | null = null): Event.Event => ({
  type: "Exited",
  ...base(),
  code,
  signal
})
const stopRequested = (): Event.Event => ({ type: "StopRequested", ...base(), signal: "SIGTERM", graceSecs: 10 })
const timedOut = (): Event.Event => ({ type: "TimedOut", ...base(), timeoutSecs: 5 })
const interrupted = (): Event.Event => ({ type: "Interrupted", ...base(), reason: "gone" })

const given = (...events: Array<Event.Event>) => JobState.fold(job, events)

describe("JobState.evolve", () => {
  it("is pending after Submitted, running after Started", () => {
    expect(given(submitted()).status).toBe("pending")
    const s = given(submitted(), started())
    expect(s.status).toBe("running")
    expect(s.started?.pid).toBe(10)
  })
  it("completes on code 0 and fails on any other code", () => {
    expect(given(submitted(), started(), exited(0)).status).toBe("completed")
    const failed = given(submitted(), started(), exited(3))
    expect(failed.status).toBe("failed")
    expect(failed.exitCode).toBe(3)
    expect(JobState.shellExitCode(failed)).toBe(3)
  })
  it("reports a signal as 128+N", () => {
    const killed = given(submitted(), started(), exited(null, "SIGKILL"))
    expect(killed.status).toBe("failed")
    expect(JobState.shellExitCode(killed)).toBe(137)
  })
  it("is stopped when a stop was requested, timed-out after TimedOut", () => {
    expect(given(submitted(), started(), stopRequested(), exited(null, "SIGTERM")).status).toBe("stopped")
    expect(given(submitted(), started(), timedOut(), exited(null, "SIGTERM")).status).toBe("timed-out")
  })
  it("is interrupted when the supervisor vanished, and a late Exited still wins", () => {
    expect(given(submitted(), started(), interrupted()).status).toBe("interrupted")
    expect(given(submitted(), started(), interrupted(), exited(0)).status).toBe("completed")
  })
  it("ignores events that make no sense in the current state", () => {
    const done = given(submitted(), started(), exited(0))
    expect(JobState.evolve(done, started()).status).toBe("completed")
    expect(JobState.evolve(done, interrupted()).status).toBe("completed")
    expect(JobState.evolve(done, exited(1)).exitCode).toBe(0)
    expect(given(submitted(), submitted()).spec?.name).toBe("build")
    expect(given(started(), exited(0)).spec).toBe(null)
  })
  it("is total: every sequence of events gives a state", () => {
    const all = [submitted, started, () => exited(0), () => exited(2), stopRequested, timedOut, interrupted]
    for (let i = 0; i < 500; i++) {
      const events = Array.from({ length: 1 + (i % 7) }, (_, k) => all[(i * 7 + k * 3) % all.length]!())
      const state = given(...events)
      expect(JobState.STATUSES).toContain(state.status)
      expect(state.version).toBe(events.length)
    }
  })
  it("names signals both ways", () => {
    expect(JobState.signalName("TERM")).toBe("SIGTERM")
    expect(JobState.signalName("9")).toBe("SIGKILL")
    expect(JobState.signalName("sigint")).toBe("SIGINT")
    expect(JobState.signalName("NOPE")).toBe(undefined)
  })
})

describe("GPU events", () => {
  const provisioned = (instanceId: string, pricePerHour: number): Event.Event => ({
    type: "Provisioned",
    ...base(),
    provider: "runpod",
    instanceId,
    name: `jobs-${job}`,
    offer: "NVIDIA A100 80GB PCIe",
    gpuType: "A100",
    gpuCount: 1,
    pricePerHour
  })
  const terminated = (instanceId: string, cost: number): Event.Event => ({
    type: "Terminated",
    ...base(),
    provider: "runpod",
    instanceId,
    by: "keeper",
    confirmed: true,
    billedSecs: 3600,
    pricePerHour: cost,
    cost
  })

  it("given two instances, one ended: the cost is the recorded one plus price × time of the held one", () => {
    const state = JobState.fold(job, [submitted(), provisioned("a", 2), terminated("a", 0.5), provisioned("b", 3.6)])
    expect(state.cost).toBe(0.5)
    expect(state.instances.map((i) => i.id)).toEqual(["b"])
    const since = Date.parse(state.instances[0]!.since)
    expect(JobState.costSoFar(state, since + 1000)).toBe(0.501)
  })

  it("given a setup failure before the command: the job failed with the stage in its reason", () => {
    const state = JobState.fold(job, [
      submitted(),
      { type: "SetupFailed", ...base(), stage: "bootstrap", reason: 'step 1 "false" exited 1' }
    ])
    expect(state.status).toBe("failed")
    expect(state.reason).toBe('bootstrap failed: step 1 "false" exited 1')
    // a Terminated for an instance the log never had is ignored
    expect(JobState.fold(job, [submitted(), terminated("x", 1)]).cost).toBeNull()
  })
})

describe("failed-to-start", () => {
  const failedToStart = (): Event.Event => ({ type: "FailedToStart", ...base(), reason: "sbatch: invalid partition" })
  it("is the end of a job whose start was refused: its reason, no exit code (wait reports 125)", () => {
    const state = JobState.fold(job, [submitted(), failedToStart()])
    expect(state.status).toBe("failed-to-start")
    expect(state.reason).toBe("sbatch: invalid partition")
    expect(JobState.isTerminal(state.status)).toBe(true)
    const object = JobState.toObject(state, { logPath: "l", eventsPath: "e" })
    expect(JobState.waitExitCode(object)).toBe(125)
  })
  it("leaves old logs as they folded: Interrupted and SetupFailed keep their statuses, an end stays the end", () => {
    const interrupted: Event.Event = { type: "Interrupted", ...base(), reason: "the supervisor is gone" }
    expect(JobState.fold(job, [submitted(), interrupted]).status).toBe("interrupted")
    const setup: Event.Event = { type: "SetupFailed", ...base(), stage: "provision", reason: "no offer" }
    expect(JobState.fold(job, [submitted(), setup]).status).toBe("failed")
    expect(JobState.fold(job, [submitted(), started(), exited(0), failedToStart()]).status).toBe("completed")
  })
})
