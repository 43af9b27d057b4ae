// What a worker sends home is untrusted: a job's own code can append to its job folder on the worker. Forged lines
// (another job's events, lines that are not events, a line over the cap, facts only the local side can know, a
// fake end) never reach the local log, through the periodic mirror (`jobs wait`) or the streamed one (`logs -f`).
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { jobs, jobsAsync, json, type Result } from "../support/cli.ts"
import { eventsPath, readEvents, scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi) console.warn("SKIPPING mirror trust tests: install openssh-server (apt-get install openssh-server)")
let server: Sshd.Sshd | undefined

beforeAll(async () => {
  if (can || inCi) server = await Sshd.start()
})
afterAll(() => {
  server?.stop()
  tmp.cleanup()
})

const env = () => ({ HOME: server!.clientHome, SSH_AUTH_SOCK: undefined })
const as = (home: string, args: ReadonlyArray<string>): Result => jobs(args, { home, env: env() })

/** A new home with worker "w" on the test server, and a local job already ended (the "other" job). */
const withWorker = () => {
  const home = tmp.home()
  Fs.writeFileSync(
    Path.join(server!.clientHome, ".ssh", "known_hosts"),
    `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
  )
  const worker = Path.join(tmp.dir(), "remote-home")
  expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", worker]).code).toBe(0)
  const other = json<{ id: string }>(as(home, ["run", "--json", "--", "true"])).id
  expect(as(home, ["wait", other, "--timeout", "30s"]).code).toBe(0)
  return { home, worker, other }
}

const at = "2026-01-01T00:00:00.000Z"
/** The forged lines, JOBID standing for the job's own id (the job finds it: its work dir is workdirs/<id>). */
const forged = (other: string): Array<string> => [
  // another job's end
  JSON.stringify({ type: "Exited", v: 1, id: `${other}.exited`, job: other, at, code: 9, signal: null }),
  // not an event at all
  "this is not an event <script>probe=1</script>",
  // an event a worker may write, well formed, but over the line cap
  JSON.stringify({ type: "OutputDropped", v: 1, id: "JOBID.dropped", job: "JOBID", at, reason: "x".repeat(70_000) }),
  // facts only the local side knows
  JSON.stringify({
    type: "Provisioned",
    v: 1,
    id: "JOBID.prov",
    job: "JOBID",
    at,
    provider: "runpod",
    instanceId: "forged-1",
    name: "jobs-JOBID",
    offer: "o",
    gpuType: "H100",
    gpuCount: 8,
    pricePerHour: 1000
  }),
  JSON.stringify({
    type: "Terminated",
    v: 1,
    id: "JOBID.term",
    job: "JOBID",
    at,
    provider: "runpod",
    instanceId: "forged-1",
    by: "keeper",
    confirmed: true,
    billedSecs: 3600,
    pricePerHour: 1000,
    cost: 1000
  }),
  JSON.stringify({
    type: "Submitted",
    v: 1,
    id: "JOBID.submitted",
    job: "JOBID",
    at,
    spec: {
      command: ["evil-forged-command"],
      name: "forged",
      cwd: "/",
      project: "/",
      executor: "local",
      worker: null,
      timeoutSecs: null,
      graceSecs: 1,
      key: null,
      retryOf: null
    }
  }),
  // a stop the user never asked for, and an interruption nobody saw
  JSON.stringify({ type: "StopRequested", v: 1, id: "JOBID.stop", job: "JOBID", at, signal: "SIGTERM", graceSecs: 1 }),
  JSON.stringify({ type: "Interrupted", v: 1, id: "JOBID.int", job: "JOBID", at, reason: "forged" }),
  // a fake end before the real one, under the supervisor's own event id
  JSON.stringify({ type: "Exited", v: 1, id: "JOBID.exited", job: "JOBID", at, code: 7, signal: null })
]
const FORGED_COUNT = 9

/** A project whose job appends the forged lines to its own log on the worker (one write), then ends with 3. */
const project = (other: string) => {
  const dir = tmp.dir()
  Fs.writeFileSync(Path.join(dir, "forged.jsonl"), `${forged(other).join("\n")}\n`)
  const script =
    'id=$(basename "$PWD"); sed "s/JOBID/$id/g" forged.jsonl > /tmp/forged.$$; ' +
    'cat /tmp/forged.$$ >> "../../jobs/$id/events.jsonl"; rm -f /tmp/forged.$$; echo forged; sleep 2; echo done; exit 3'
  return { dir, command: ["sh", "-c", script] }
}

/** What the user would check once the job has ended. */
const expectClean = (home: string, id: string, other: string, otherLog: Buffer) => {
  const raw = Fs.readFileSync(eventsPath(home, id), "utf8")
  for (const mark of ["evil-forged-command", "forged-1", "<script>", "x".repeat(100)])
    expect(raw.includes(mark), mark).toBe(false)
  expect(raw.includes(other), "the other job's id").toBe(false)
  expect(Math.max(...raw.split("\n").map((l) => l.length))).toBeLessThan(64 * 1024)
  const events = readEvents(home, id)
  const types = events.map((e) => e.type)
  for (const t of ["Provisioned", "Terminated", "StopRequested", "Interrupted", "OutputDropped"])
    expect(types).not.toContain(t)
  expect(types.filter((t) => t === "Submitted")).toHaveLength(1)
  const ends = events.filter((e) => e.type === "Exited")
  expect(ends).toHaveLength(1)
  expect(ends[0]).toMatchObject({ code: 3 })
  const refused = events.filter((e) => e.type === "MirrorRefused")
  expect(refused, JSON.stringify(refused)).toHaveLength(1)
  expect(refused[0]).toMatchObject({ count: FORGED_COUNT, total: FORGED_COUNT })
  const status = json<{ status: string; exitCode: number; cost: unknown }>(as(home, ["status", id, "--json"]))
  expect(status).toMatchObject({ status: "failed", exitCode: 3 })
  expect(status.cost ?? null).toBeNull()
  // the other job's log is untouched, and it still reads as it ended
  expect(Fs.readFileSync(eventsPath(home, other)).equals(otherLog)).toBe(true)
  expect(json<{ status: string; exitCode: number }>(as(home, ["status", other, "--json"]))).toMatchObject({
    status: "completed",
    exitCode: 0
  })
}

describe.skipIf(!can && !inCi)("a worker's forged lines", () => {
  it("never reach the local log through jobs wait: one warning counts them, the real exit code stands", () => {
    const { home, other } = withWorker()
    const otherLog = Fs.readFileSync(eventsPath(home, other))
    const { dir, command } = project(other)
    const r = jobs(["run", "--on", "w", "--json", "--", ...command], { home, cwd: dir, env: env() })
    expect(r.code, r.stderr).toBe(0)
    const id = json<{ id: string }>(r).id
    const wait = as(home, ["wait", id, "--timeout", "60s"])
    expect(wait.code, wait.stderr).toBe(3)
    expectClean(home, id, other, otherLog)
    // later reads add no second warning
    as(home, ["list", "--all"])
    as(home, ["status", id])
    expect(readEvents(home, id).filter((e) => e.type === "MirrorRefused")).toHaveLength(1)
    expect(as(home, ["logs", id]).stdout.replaceAll("\r", "")).toBe("forged\ndone\n")
  })

  it("never reach the local log through logs -f either", async () => {
    const { home, other } = withWorker()
    const otherLog = Fs.readFileSync(eventsPath(home, other))
    const { dir, command } = project(other)
    const r = jobs(["run", "--on", "w", "--json", "--", ...command], { home, cwd: dir, env: env() })
    expect(r.code, r.stderr).toBe(0)
    const id = json<{ id: string }>(r).id
    const following = await jobsAsync(["logs", "-f", id], { home, env: env() })
    expect(following.code, following.stderr).toBe(0)
    expect(following.stdout.replaceAll("\r", "")).toBe("forged\ndone\n")
    expectClean(home, id, other, otherLog)
  })
})
