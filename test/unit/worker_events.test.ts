// What a worker may write into a job's log: the one list matches what the supervisor writes there, and a line read
// back from a worker is mirrored only when it is this job's, of such a type, bounded and under the size cap.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { WorkerEvents } from "../../events/mod.ts"

const JOB = "01JAAAAAAAAAAAAAAAAAAAAAAA"
const OTHER = "01JBBBBBBBBBBBBBBBBBBBBBBB"
const at = "2026-01-01T00:00:00.123Z"
const ssh = { id: JOB, executor: "ssh" }
const line = (fields: Record<string, unknown>) => JSON.stringify({ v: 1, job: JOB, at, ...fields })
const started = {
  type: "Started",
  id: `${JOB}.started`,
  pid: 4242,
  pgid: 4242,
  host: "worker-1",
  bootId: "132662bb-4159-4a84-8e77-393d1f22d386",
  startTime: 54909,
  supervisorPid: 4200,
  supervisorStartTime: 54839
}
const exited = { type: "Exited", id: `${JOB}.exited`, code: 3, signal: null }
const reason = (l: string, job = ssh) => {
  const vetted = WorkerEvents.vetLine(l, job)
  return vetted._tag === "Refused" ? vetted.reason : "accepted"
}

const root = Path.resolve(import.meta.dirname, "../..")

describe("WorkerEvents.WORKER_TYPES", () => {
  it("is what the supervisor writes on a worker: every type it emits is listed or known to need local files", () => {
    const script = Fs.readFileSync(Path.join(root, "adapters/supervisor.sh"), "utf8")
    const emitted = [...script.matchAll(/_jemit ([A-Z][a-z]\w*) "?([\w-]+)/g)].map((m) => ({
      type: m[1]!,
      suffix: m[2]!
    }))
    expect(emitted.length).toBeGreaterThan(5)
    const listed = new Set([
      ...Object.keys(WorkerEvents.WORKER_TYPES),
      ...Object.keys(WorkerEvents.LOCAL_ONLY_SUPERVISOR_TYPES)
    ])
    for (const e of emitted) expect(listed, `supervisor.sh emits ${e.type}`).toContain(e.type)
    // each listed suffix is one the supervisor uses for that type
    for (const [type, allowed] of Object.entries(WorkerEvents.WORKER_TYPES))
      for (const suffix of allowed.suffixes) expect(emitted, `${type} ${suffix}`).toContainEqual({ type, suffix })
    // the guard writes no event at all
    expect(Fs.readFileSync(Path.join(root, "adapters/gpu/guard.sh"), "utf8")).not.toMatch(/>>\s*"\$_gev"/)
  })
})

describe("WorkerEvents.vetLine", () => {
  it("accepts the supervisor's own lines, re-encoded without fields it does not know", () => {
    expect(reason(line(started))).toBe("accepted")
    expect(reason(line({ ...exited, code: null, signal: "SIGTERM" }))).toBe("accepted")
    expect(reason(line({ type: "TimedOut", id: `${JOB}.timedout`, timeoutSecs: 5 }))).toBe("accepted")
    expect(reason(line({ type: "OutputDropped", id: `${JOB}.dropped`, reason: "disk full" }))).toBe("accepted")
    expect(reason(line({ type: "OutputTruncated", id: `${JOB}.truncated`, keptBytes: 4096 }))).toBe("accepted")
    expect(reason(line({ type: "OutputTruncated", id: `${JOB}.x`, keptBytes: 4096 }))).not.toBe("accepted")
    const vetted = WorkerEvents.vetLine(line({ ...exited, html: "<script>x</script>" }), ssh)
    expect(vetted._tag === "Accepted" && JSON.stringify(vetted.event)).not.toContain("script")
  })

  it("refuses other jobs' lines, lines that are not events, and lines over the cap", () => {
    expect(reason(JSON.stringify({ v: 1, at, ...exited, job: OTHER, id: `${OTHER}.exited` }))).toBe("other-job")
    expect(reason("not json")).toBe("not-json")
    expect(reason("[1,2]")).toBe("not-an-event")
    expect(reason("null")).toBe("not-an-event")
    const long = line({ type: "OutputDropped", id: `${JOB}.dropped`, reason: "x".repeat(WorkerEvents.MAX_LINE_BYTES) })
    expect(reason(long)).toBe("too-long")
  })

  it("refuses every fact only the local side knows", () => {
    for (const type of [
      "Submitted",
      "Synced",
      "ProvisionRequested",
      "Provisioned",
      "InstanceReady",
      "GuardArmed",
      "Bootstrapped",
      "Downloaded",
      "Terminated",
      "SetupFailed",
      "Interrupted",
      "SlurmSubmitted",
      "SlurmEnded",
      "ProgressRecorded",
      "MirrorRefused",
      "Queued",
      "DependencyFailed",
      "HookRan",
      "__proto__",
      "toString"
    ])
      expect(reason(line({ type, id: `${JOB}.x` })), type).toBe("local-only")
    // a stop only the supervisor under Slurm can see; any other stop is the user's, made here
    const stop = line({ type: "StopRequested", id: `${JOB}.slurmstop`, signal: "SIGTERM", graceSecs: 10 })
    expect(reason(stop)).toBe("local-only")
    expect(reason(stop, { id: JOB, executor: "slurm" })).toBe("accepted")
  })

  it("takes only the supervisor's id for each type, so each is mirrored once", () => {
    expect(reason(line({ ...exited, id: `${JOB}.exited2` }))).toBe("unexpected-id")
    expect(reason(line({ ...started, id: "01JZZZZZZZZZZZZZZZZZZZZZZZ" }))).toBe("unexpected-id")
  })

  it("refuses values out of bounds: exit codes, pids, start times, signal names, versions, times", () => {
    for (const bad of [
      { ...exited, code: 256 },
      { ...exited, code: -1 },
      { ...exited, code: 1.5 },
      { ...exited, signal: "SIGTERM; rm -rf ~" },
      { ...started, pid: 0 },
      { ...started, pgid: 1 },
      { ...started, pid: "4242" },
      { ...started, supervisorPid: 2 ** 40 },
      { ...started, startTime: -3 },
      { ...started, bootId: "$(reboot)" },
      { ...started, host: "<b>x</b>" },
      { ...exited, v: 2 },
      { ...exited, at: "yesterday" }
    ])
      expect(reason(line(bad)), JSON.stringify(bad)).toBe("not-an-event")
    // 1e999 is Infinity once parsed: never a number to re-encode (it would come out as null)
    expect(reason(line(exited).replace('"code":3', '"code":1e999'))).toBe("not-an-event")
  })
})
