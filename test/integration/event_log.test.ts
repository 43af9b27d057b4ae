// The event log as a shared file: 10 real processes appending at once never interleave a line, and a damaged log
// (a torn last line, a garbage line) never stops `jobs list`, `status` or `logs`.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as esbuild from "esbuild"
import { afterAll, describe, expect, it } from "vitest"
import { EventLog } from "../../events/mod.ts"
import { eventually, jobs, json } from "../support/cli.ts"
import { eventsPath, scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const WRITERS = 10
const PER_WRITER = 1000

const exitOf = (child: ChildProcess.ChildProcess): Promise<number | null> =>
  new Promise((resolve) => child.on("close", (code) => resolve(code)))

describe("events.jsonl with concurrent writers", () => {
  it("keeps 10 x 1,000 appends from 10 processes as 10,000 whole, decodable lines", async () => {
    const dir = tmp.dir()
    const bundle = Path.join(dir, "append_events.cjs")
    await esbuild.build({
      entryPoints: [Path.resolve(import.meta.dirname, "../support/append_events.ts")],
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      logLevel: "silent"
    })
    const log = Path.join(dir, "events.jsonl")
    const go = Path.join(dir, "go")
    const children = Array.from({ length: WRITERS }, (_, w) =>
      ChildProcess.spawn(process.execPath, [bundle, log, String(w), String(PER_WRITER), go], { stdio: "inherit" })
    )
    try {
      const exits = children.map(exitOf)
      // every writer is loaded before any of them starts: the appends really overlap
      await eventually(
        () => (Array.from({ length: WRITERS }, (_, w) => `${go}.ready.${w}`).every(Fs.existsSync) ? true : undefined),
        30_000,
        "the writers to be ready"
      )
      Fs.writeFileSync(go, "")
      expect(await Promise.all(exits)).toEqual(Array(WRITERS).fill(0))
    } finally {
      for (const child of children) child.kill("SIGKILL")
    }

    const bytes = Fs.readFileSync(log)
    expect(bytes[bytes.length - 1]).toBe(10)
    const lines = bytes.toString("utf8").split("\n")
    expect(lines.pop()).toBe("")
    expect(lines).toHaveLength(WRITERS * PER_WRITER)

    const replayed = EventLog.replaySync(log)
    expect(replayed.skipped).toBe(0)
    expect(replayed.consumed).toBe(bytes.length)
    expect(replayed.events).toHaveLength(WRITERS * PER_WRITER)

    // each writer's events are all there, in its own order, each with its payload intact
    const seen = Array.from({ length: WRITERS }, () => [] as Array<number>)
    for (const event of replayed.events) {
      const [w, i, pad] = event.id.split("-") as [string, string, string]
      expect(pad.length).toBe((Number(i) % 50) * 100)
      seen[Number(w)]!.push(Number(i))
    }
    for (const indices of seen) expect(indices).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i))
  }, 120_000)
})

describe("a damaged events.jsonl", () => {
  it("is still listed, shown and its logs printed with a garbage middle line and a torn last line", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const run = jobs(["run", "--json", "--", "sh", "-c", "echo hello from the job"], { home, cwd })
    expect(run.code, run.stderr).toBe(0)
    const { id, shortId } = json<{ id: string; shortId: string }>(run)
    expect(jobs(["wait", id], { home }).code).toBe(0)

    const path = eventsPath(home, id)
    const lines = Fs.readFileSync(path, "utf8").split("\n").slice(0, -1)
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["Submitted", "Started", "Exited"])
    const damaged = [lines[0], "this is {not an event", ...lines.slice(1)].join("\n") + "\n"
    const torn = `{"type":"StopRequested","v":1,"id":"torn","job":"${id}","at":"2024-01-0`
    Fs.writeFileSync(path, damaged + torn)

    const list = jobs(["list"], { home, cwd })
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toContain(shortId)
    expect(list.stdout).toContain("completed")

    const listJson = jobs(["list", "--json"], { home, cwd })
    expect(listJson.code, listJson.stderr).toBe(0)
    expect(json<Array<{ id: string; status: string }>>(listJson)).toMatchObject([{ id, status: "completed" }])

    const status = jobs(["status", shortId, "--json"], { home, cwd })
    expect(status.code, status.stderr).toBe(0)
    expect(json(status)).toMatchObject({ id, status: "completed", exitCode: 0 })
    // the skipped line is reported on stderr, never on stdout
    expect(status.stderr).toMatch(/skipped 1 undecodable line/)

    const text = jobs(["status", shortId], { home, cwd })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain(id)

    const logs = jobs(["logs", shortId], { home, cwd })
    expect(logs.code, logs.stderr).toBe(0)
    expect(logs.stdout).toBe("hello from the job\n")

    // reading never "repairs" the file: the damage is still there, byte for byte
    expect(Fs.readFileSync(path, "utf8")).toBe(damaged + torn)
  })
})
