// The published JSON Schemas (cli/schemas/, events/schema.json) hold for what the real program prints, checked by a
// third-party validator (ajv), not the project's own decoder: every --json command, every event line, the all-jobs
// feed, errors, and the MCP tools' results. Objects stay open to new fields (fields only grow).
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { Ajv } from "ajv"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, jobs, jobsAsync } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const root = Path.resolve(import.meta.dirname, "../..")
const ajv = new Ajv({ strict: false, allErrors: true })
const validators = new Map<string, ReturnType<Ajv["compile"]>>()
const check = (schema: string, value: unknown, what: string) => {
  let validate = validators.get(schema)
  if (validate === undefined) {
    const file = schema === "event" ? "events/schema.json" : `cli/schemas/${schema}.schema.json`
    validate = ajv.compile(JSON.parse(Fs.readFileSync(Path.join(root, file), "utf8")))
    validators.set(schema, validate)
  }
  expect(validate(value), `${what} against ${schema}: ${JSON.stringify(validate.errors)}`).toBe(true)
}

describe("the published schemas, checked by ajv against real output", () => {
  it("hold for every --json command, every event line and the feed", async () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const j = (args: ReadonlyArray<string>) => {
      const r = jobs(["--json", ...args], { home, cwd })
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBeLessThan(2)
      return JSON.parse(r.stdout)
    }
    const run = j(["run", "--name", "c1", "--group", "g", "--on-done", "true", "--", "sh", "-c", "echo out; exit 1"])
    check("run-result", run, "run")
    check("wait-result", j(["wait", run.id]), "wait")
    check("list-result", j(["list", "--all"]), "list")
    check("status-result", j(["status", run.id]), "status")
    check("summary", j(["status"]), "status (summary)")
    check("stop-result", j(["stop", run.id]), "stop")
    const retried = j(["retry", run.id])
    check("retry-result", retried, "retry")
    check("group-result", j(["group", "set", "g", "--parallel", "2"]), "group set")
    check("group-result", j(["group", "pause", "g"]), "group pause")
    check("group-list", j(["group", "ls"]), "group ls")
    check("version-result", j(["--version"]), "--version")
    const logs = jobs(["--json", "logs", run.id], { home }).stdout.trimEnd().split("\n")
    for (const line of logs) check("log-line", JSON.parse(line), "logs line")
    j(["group", "resume", "g"])
    j(["wait", retried.id])
    const events = jobs(["events", run.id], { home }).stdout.trimEnd().split("\n")
    expect(events.map((l) => JSON.parse(l).type)).toContain("HookRan")
    for (const line of events) check("event", JSON.parse(line), "event line")
    const feed = jobs(["events", "--all"], { home }).stdout.trimEnd().split("\n")
    expect(feed.length).toBeGreaterThan(events.length)
    for (const line of feed) check("feed-line", JSON.parse(line), "feed line")
    const failed = await jobsAsync(["--json", "status", "nope1234"], { home })
    check("error", JSON.parse(failed.stdout), "an error")
    check("rm-result", j(["rm", retried.id]), "rm")
    check("clean-result", j(["clean", "--all"]), "clean")
    // a field the schema does not know yet is still valid: objects only grow
    check("job", { ...run, aFieldAddedLater: 1 }, "a job with a new field")
  })

  it("hold for the MCP tools' results", async () => {
    const home = tmp.home()
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_EXTRA_CA_CERTS") env[k] = v
    env.JOBS_HOME = home
    const client = new Client({ name: "schemas-test", version: "1.0.0" })
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: ["--", BIN, "mcp"], env, cwd: tmp.dir() })
    )
    try {
      const call = async (name: string, args: Record<string, unknown>) =>
        ((await client.callTool({ name, arguments: args })) as { structuredContent: Record<string, any> })
          .structuredContent
      const run = await call("run", { command: ["sh", "-c", "echo hi"], cwd: tmp.dir() })
      check("run-result", run, "MCP run")
      check("mcp-wait-result", await call("wait", { id: run.id, timeoutSecs: 60 }), "MCP wait")
      check("mcp-logs-result", await call("logs", { id: run.id }), "MCP logs")
      check("status-result", await call("status", { id: run.id }), "MCP status")
      check("summary", await call("summary", {}), "MCP summary")
      check("list-result", (await call("list", { all: true })).jobs, "MCP list")
      check("run-result", await call("retry", { id: run.id }), "MCP retry")
    } finally {
      await client.close()
    }
  })
})
