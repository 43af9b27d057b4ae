// Every command's --json output validates against its published schema (core/contract.ts, cli/schemas/), and
// stdout stays one parseable document when a warning is printed.

import * as Fs from "node:fs"
import * as Schema from "effect/Schema"
import { afterAll, describe, expect, it } from "vitest"
import * as Contract from "../../core/contract.ts"
import { Event } from "../../events/event.ts"
import { jobs } from "../support/cli.ts"
import { eventsPath, scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const valid = <A, I>(schema: Schema.Schema<A, I>, stdout: string): A =>
  Schema.decodeUnknownSync(schema)(JSON.parse(stdout))

describe("the JSON contract", () => {
  it("holds for run, list, status, wait, stop, retry, rm, clean, logs and events", () => {
    const home = tmp.home()
    const j = (args: ReadonlyArray<string>) => {
      const r = jobs(["--json", ...args], { home })
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBeLessThan(2)
      return r.stdout
    }
    const run = valid(Contract.RunResult, j(["run", "--name", "c1", "--", "sh", "-c", "echo out; exit 1"]))
    expect(run.existing).toBe(false)
    valid(Contract.JobsResult, j(["wait", run.id]))
    valid(Contract.ListResult, j(["list", "--all"]))
    valid(Contract.StatusResult, j(["status", run.id]))
    valid(Contract.Summary, j(["status"]))
    valid(Contract.StopResult, j(["stop", run.id]))
    const retried = valid(Contract.RunResult, j(["retry", run.id]))
    expect(retried.retryOf).toBe(run.id)
    for (const line of j(["logs", run.id]).trimEnd().split("\n")) valid(Contract.LogLine, line)
    for (const line of jobs(["events", run.id], { home }).stdout.trimEnd().split("\n")) valid(Event, line)
    j(["wait", retried.id])
    valid(Contract.JobsResult, j(["rm", retried.id]))
    valid(Contract.JobsResult, j(["clean", "--all"]))
  })

  it("keeps stdout one parseable document when a warning goes to stderr", () => {
    const home = tmp.home()
    const run = valid(Contract.RunResult, jobs(["run", "--json", "--", "true"], { home }).stdout)
    jobs(["wait", run.id], { home })
    Fs.appendFileSync(eventsPath(home, run.id), "not an event\n")
    const r = jobs(["status", run.id, "--json"], { home })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/warning: skipped 1 undecodable line/)
    expect(valid(Contract.StatusResult, r.stdout).status).toBe("completed")
  })
})
