// `jobs mcp` with a real MCP client (the SDK's, over stdio, against the built binary), and the skill file.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, jobs } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const connect = async (home: string) => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_EXTRA_CA_CERTS") env[k] = v
  env.JOBS_HOME = home
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--", BIN, "mcp"],
    env,
    cwd: tmp.dir()
  })
  const client = new Client({ name: "jobs-test", version: "1.0.0" })
  await client.connect(transport)
  return client
}

type Structured = Record<string, any>
const call = async (client: Client, name: string, args: Record<string, unknown>) => {
  const r = await client.callTool({ name, arguments: args })
  return r as { isError?: boolean; structuredContent?: Structured; content: Array<{ type: string; text: string }> }
}

describe("jobs mcp", () => {
  it("lists its tools, runs a job, waits for it, reads its logs, stops another, and errors in one line", async () => {
    const home = tmp.home()
    const client = await connect(home)
    try {
      const { tools } = await client.listTools()
      expect(tools.map((t) => t.name).sort()).toEqual(
        ["list", "logs", "retry", "run", "status", "stop", "summary", "wait"].sort()
      )
      for (const tool of tools) {
        expect(tool.inputSchema.type).toBe("object")
        expect(tool.outputSchema?.type).toBe("object")
      }

      // the client checks every structuredContent against the tool's outputSchema
      const run = await call(client, "run", { command: ["sh", "-c", "echo hello from mcp; exit 3"], name: "m1" })
      expect(run.isError).toBeFalsy()
      expect(run.structuredContent).toMatchObject({
        name: "m1",
        existing: false,
        command: ["sh", "-c", expect.any(String)]
      })
      const id = run.structuredContent!.id as string
      expect(JSON.parse(run.content[0]!.text).id).toBe(id)

      const again = await call(client, "run", { command: ["true"], key: "k1" })
      const same = await call(client, "run", { command: ["true"], key: "k1" })
      expect(same.structuredContent).toMatchObject({ id: again.structuredContent!.id, existing: true })
      // the key reused for another command: refused, in one line
      const other = await call(client, "run", { command: ["false"], key: "k1" })
      expect(other.isError).toBe(true)
      expect(other.content[0]!.text).toMatch(/^Cannot reuse key "k1": it names job /)
      await call(client, "wait", { id: again.structuredContent!.id })

      const wait = await call(client, "wait", { id: "m1", timeoutSecs: 30 })
      expect(wait.structuredContent).toMatchObject({ exitCode: 3, timedOut: false, job: { id, status: "failed" } })

      const logs = await call(client, "logs", { id })
      expect(logs.structuredContent).toMatchObject({ text: "hello from mcp\n", offset: 0, nextOffset: 15, ended: true })
      const rest = await call(client, "logs", { id, offset: 15 })
      expect(rest.structuredContent).toMatchObject({ text: "", nextOffset: 15 })

      const long = await call(client, "run", { command: ["sleep", "300"] })
      const longId = long.structuredContent!.id as string
      for (let i = 0; i < 200; i++) {
        if ((await call(client, "status", { id: longId })).structuredContent!.status === "running") break
        await new Promise((r) => setTimeout(r, 25))
      }
      const stop = await call(client, "stop", { id: longId, graceSecs: 1 })
      expect(stop.structuredContent).toMatchObject({ id: longId, status: "stopped", alreadyEnded: false })
      const waitStopped = await call(client, "wait", { id: longId })
      expect(waitStopped.structuredContent).toMatchObject({ exitCode: 143 })

      const list = await call(client, "list", { all: true })
      expect((list.structuredContent!.jobs as Array<Structured>).map((j) => j.id)).toContain(id)
      const summary = await call(client, "summary", {})
      expect(summary.structuredContent).toMatchObject({ home, counts: { failed: 1, stopped: 1, completed: 1 } })

      const unknown = await call(client, "status", { id: "nosuchjob" })
      expect(unknown.isError).toBe(true)
      expect(unknown.content[0]!.text).toMatch(/^Cannot find job "nosuchjob"/)
      expect(unknown.content[0]!.text.split("\n")).toHaveLength(1)
      const bad = await call(client, "run", { command: [] })
      expect(bad.isError).toBe(true)
      expect(bad.content[0]!.text).toMatch(/^Cannot call tool "run"/)

      const events = await client.readResource({ uri: `jobs://${id}/events` })
      const first = JSON.parse((events.contents[0] as { text: string }).text.split("\n")[0]!)
      expect(first).toMatchObject({ type: "Submitted", job: id })
      const output = await client.readResource({ uri: "jobs://m1/output" })
      expect((output.contents[0] as { text: string }).text).toBe("hello from mcp\n")
    } finally {
      await client.close()
    }
  })
})

describe("jobs skills install", () => {
  it("installs a skill whose front matter parses, and re-installs without change", () => {
    const dir = Path.join(tmp.dir(), "skills", "jobs")
    const first = jobs(["skills", "install", "--dir", dir, "--json"])
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toEqual({ path: Path.join(dir, "SKILL.md"), changed: true })
    const text = Fs.readFileSync(Path.join(dir, "SKILL.md"), "utf8")
    const front = /^---\n([\s\S]*?)\n---\n/.exec(text)
    expect(front).not.toBe(null)
    const fields = Object.fromEntries(
      front![1]!.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()])
    )
    expect(fields.name).toBe("jobs")
    expect(fields.description!.length).toBeGreaterThan(40)
    const mtime = Fs.statSync(Path.join(dir, "SKILL.md")).mtimeMs
    const second = jobs(["skills", "install", "--dir", dir, "--json"])
    expect(JSON.parse(second.stdout)).toEqual({ path: Path.join(dir, "SKILL.md"), changed: false })
    expect(Fs.statSync(Path.join(dir, "SKILL.md")).mtimeMs).toBe(mtime)
    expect(jobs(["skills", "install", "--print"]).stdout).toBe(text)
  })
})
