// `jobs mcp` by the protocol: resources, protocol errors, pipelined requests and the tools' JSON Schemas, checked
// with clients the project did not write (the SDK's client, the MCP inspector's CLI) and with raw JSON-RPC lines.

import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { McpError } from "@modelcontextprotocol/sdk/types.js"
import { Ajv } from "ajv"
import { Ajv2020 } from "ajv/dist/2020.js"
import { afterAll, describe, expect, it } from "vitest"
import { BIN } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const INSPECTOR = Path.resolve(
  import.meta.dirname,
  "../../node_modules/@modelcontextprotocol/inspector-cli/build/index.js"
)

const envFor = (home: string): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_EXTRA_CA_CERTS") env[k] = v
  env.JOBS_HOME = home
  return env
}

const connect = async (home: string) => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--", BIN, "mcp"],
    env: envFor(home),
    cwd: tmp.dir()
  })
  const client = new Client({ name: "jobs-protocol-test", version: "1.0.0" })
  await client.connect(transport)
  return client
}

type Structured = Record<string, any>
const call = async (client: Client, name: string, args: Record<string, unknown>) => {
  const r = await client.callTool({ name, arguments: args })
  return r as { isError?: boolean; structuredContent?: Structured; content: Array<{ type: string; text: string }> }
}

/** The JSON-RPC error code a request was refused with (undefined: it was answered with a result). */
const codeOf = async (request: Promise<unknown>): Promise<number | undefined> => {
  try {
    await request
    return undefined
  } catch (e) {
    expect(e).toBeInstanceOf(McpError)
    return (e as McpError).code
  }
}

describe("jobs mcp with the SDK's client", () => {
  it("lists and reads jobs as resources, and answers a missing resource and an unknown tool with protocol errors", async () => {
    const home = tmp.home()
    const client = await connect(home)
    try {
      const none = await client.listResources()
      expect(none.resources).toEqual([])

      const run = await call(client, "run", { command: ["sh", "-c", "echo resource out"], name: "r1" })
      const { id, shortId } = run.structuredContent!
      await client.callTool({ name: "wait", arguments: { id, timeoutSecs: 60 } })

      const { resources } = await client.listResources()
      expect(resources.map((r) => r.uri).sort()).toEqual([`jobs://${id}/output`, `jobs://${id}/status`])
      for (const r of resources) expect(r.name).toContain(shortId)

      const { resourceTemplates } = await client.listResourceTemplates()
      expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
        "jobs://{id}/events",
        "jobs://{id}/output",
        "jobs://{id}/status"
      ])

      // every listed resource reads, with the type it was listed with
      for (const r of resources) {
        const read = await client.readResource({ uri: r.uri })
        expect(read.contents[0]).toMatchObject({ uri: r.uri, mimeType: r.mimeType })
      }
      const status = await client.readResource({ uri: `jobs://${id}/status` })
      expect(JSON.parse((status.contents[0] as { text: string }).text)).toMatchObject({
        id,
        name: "r1",
        status: "completed",
        exitCode: 0
      })
      // by name too, as every reference
      const output = await client.readResource({ uri: "jobs://r1/output" })
      expect((output.contents[0] as { text: string }).text).toBe("resource out\n")

      // a resource that does not exist: -32002 (resource not found), whatever is missing
      expect(await codeOf(client.readResource({ uri: "jobs://nosuchjob/status" }))).toBe(-32002)
      expect(await codeOf(client.readResource({ uri: `jobs://${id}/nothing` }))).toBe(-32002)
      expect(await codeOf(client.readResource({ uri: "file:///etc/passwd" }))).toBe(-32002)

      // an unknown tool is a protocol error (-32602), not a tool result
      expect(await codeOf(client.callTool({ name: "nosuchtool", arguments: {} }))).toBe(-32602)
      // arguments the schema refuses are a tool error the model can read and correct, naming what is wrong
      const bad = await call(client, "wait", { id: 42 })
      expect(bad.isError).toBe(true)
      expect(bad.content[0]!.text).toBe('Cannot call tool "wait": argument "id": expected string, actual 42')
      const missing = await call(client, "wait", {})
      expect(missing.content[0]!.text).toBe('Cannot call tool "wait": argument "id" is missing')
      // an argument the tool does not take is refused (its schema says additionalProperties: false), not ignored
      const extra = await call(client, "wait", { id, timeout: 5 })
      expect(extra.isError).toBe(true)
      expect(extra.content[0]!.text).toBe(
        'Cannot call tool "wait": argument "timeout" is not one it takes (id, timeoutSecs)'
      )
      expect((await call(client, "summary", { verbose: true })).isError).toBe(true)
      // a bad cursor is a bad parameter
      expect(await codeOf(client.listResources({ cursor: "not-a-cursor" }))).toBe(-32602)
    } finally {
      await client.close()
    }
  }, 120_000)

  it("pages resources/list with a cursor, newest job first", async () => {
    const home = tmp.home()
    const client = await connect(home)
    try {
      const ids: Array<string> = []
      for (let i = 0; i < 55; i++) {
        ids.push((await call(client, "run", { command: ["true"] })).structuredContent!.id)
      }
      const seen: Array<string> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = await client.listResources(cursor === undefined ? {} : { cursor })
        seen.push(...page.resources.filter((r) => r.uri.endsWith("/status")).map((r) => r.uri.split("/")[2]!))
        cursor = page.nextCursor
        pages++
      } while (cursor !== undefined && pages < 10)
      expect(pages).toBe(2)
      expect(seen).toEqual([...ids].reverse())
    } finally {
      await client.close()
    }
  }, 120_000)

  it("publishes tool input and output schemas that compile as JSON Schema and check arguments", async () => {
    const client = await connect(tmp.home())
    try {
      const { tools } = await client.listTools()
      // MCP reads a schema without $schema as 2020-12; these name draft-07 (what Effect writes), and are that
      for (const tool of tools) {
        expect(tool.inputSchema.$schema).toBe("http://json-schema.org/draft-07/schema#")
        expect(tool.outputSchema!.$schema).toBe("http://json-schema.org/draft-07/schema#")
        for (const schema of [tool.inputSchema, tool.outputSchema!]) {
          const draft07 = schema.$schema === "http://json-schema.org/draft-07/schema#"
          const ajv = draft07 ? new Ajv({ strict: true }) : new Ajv2020({ strict: true })
          expect(() => ajv.compile(schema), `${tool.name}: ${JSON.stringify(schema)}`).not.toThrow()
        }
      }
      const check = (name: string, args: unknown) => {
        const tool = tools.find((t) => t.name === name)!
        const draft07 = tool.inputSchema.$schema === "http://json-schema.org/draft-07/schema#"
        return (draft07 ? new Ajv({ strict: true }) : new Ajv2020({ strict: true })).validate(tool.inputSchema, args)
      }
      expect(check("run", { command: ["echo", "hi"], env: { A: "b" }, timeoutSecs: 5 })).toBe(true)
      expect(check("run", { command: [] })).toBe(false)
      expect(check("run", {})).toBe(false)
      expect(check("wait", { id: "abcd", timeoutSecs: 1 })).toBe(true)
      expect(check("wait", { id: 42 })).toBe(false)
      expect(check("list", { status: ["running", "failed"] })).toBe(true)
      expect(check("list", { status: ["bogus"] })).toBe(false)
      expect(check("summary", {})).toBe(true)
      expect(check("summary", { verbose: true })).toBe(false)
      expect(check("wait", { id: "abcd", timeout: 5 })).toBe(false)
    } finally {
      await client.close()
    }
  }, 120_000)
})

/** Starts `jobs mcp` with pipes, writes `lines` in one write, and collects what it answers. */
const raw = (home: string, lines: ReadonlyArray<string>, options: { readonly end: boolean }) => {
  const child = ChildProcess.spawn(process.execPath, ["--", BIN, "mcp"], {
    env: envFor(home),
    cwd: tmp.dir(),
    stdio: ["pipe", "pipe", "pipe"]
  })
  const answers: Array<any> = []
  let buffered = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    buffered += d
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      answers.push(JSON.parse(buffered.slice(0, nl)))
      buffered = buffered.slice(nl + 1)
    }
  })
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  child.stdin.write(lines.join("\n") + "\n")
  if (options.end) child.stdin.end()
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 90_000
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what}: got ${JSON.stringify(answers)} (stderr: ${stderr})`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  return { child, answers, exited, until, stderr: () => stderr }
}

const request = (id: number | string, method: string, params: unknown = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params })
const initialize = request(0, "initialize", {
  protocolVersion: "2025-11-25",
  capabilities: {},
  clientInfo: { name: "raw", version: "1" }
})
const initialized = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })

describe("jobs mcp over raw JSON-RPC lines", () => {
  it("answers requests written in one go, and a wait right after run (not awaiting it) sees the job", async () => {
    const home = tmp.home()
    const server = raw(
      home,
      [
        initialize,
        initialized,
        request(1, "tools/call", {
          name: "run",
          arguments: { command: ["sh", "-c", "echo piped; exit 7"], name: "p1" }
        }),
        request(2, "tools/call", { name: "wait", arguments: { id: "p1", timeoutSecs: 60 } }),
        request(3, "resources/read", { uri: "jobs://p1/output" }),
        request(4, "tools/call", { name: "status", arguments: { id: "p1" } }),
        request(5, "resources/list"),
        request("six", "tools/call", { name: "nosuchtool", arguments: {} }),
        request(7, "no/such/method"),
        "{ not json",
        JSON.stringify({ jsonrpc: "2.0", id: 8 }),
        request(9, "ping"),
        request(10, "tools/call", { name: "wait", arguments: [] }),
        request(11, "resources/read", {})
      ],
      { end: false }
    )
    try {
      // every request is answered, and the line that is not JSON too (the notification is not)
      await server.until(() => server.answers.length >= 13, "13 answers")
      const byId = new Map(server.answers.map((a) => [a.id, a]))
      expect(byId.get(0).result.serverInfo.name).toBe("jobs")
      const run = byId.get(1).result.structuredContent
      expect(run).toMatchObject({ name: "p1", existing: false })
      expect(byId.get(2).result.structuredContent).toMatchObject({
        exitCode: 7,
        timedOut: false,
        job: { id: run.id, status: "failed" }
      })
      // requests sent after run see its job
      expect(byId.get(3).result.contents[0].uri).toBe("jobs://p1/output")
      expect(byId.get(4).result.structuredContent.id).toBe(run.id)
      expect(byId.get(5).result.resources.map((r: any) => r.uri)).toContain(`jobs://${run.id}/status`)
      expect(byId.get("six").error.code).toBe(-32602)
      expect(byId.get(7).error.code).toBe(-32601)
      expect(byId.get(8).error.code).toBe(-32600)
      expect(byId.get(9).result).toEqual({})
      // params that do not fit the method: -32602, in one line
      expect(byId.get(10).error).toMatchObject({ code: -32602, message: expect.stringMatching(/params\.arguments/) })
      expect(byId.get(11).error).toMatchObject({ code: -32602, message: expect.stringMatching(/params\.uri/) })
      // a line that is not JSON: a parse error, with a null id as JSON-RPC says
      const parse = server.answers.find((a) => a.error?.code === -32700)
      expect(parse).toMatchObject({ jsonrpc: "2.0", id: null })
      for (const a of server.answers) expect(a.jsonrpc).toBe("2.0")
    } finally {
      server.child.stdin.end()
    }
    expect(await server.exited).toBe(0)
  }, 120_000)

  it("answers every request it read before its input ended, then exits", async () => {
    const home = tmp.home()
    const server = raw(
      home,
      [
        initialize,
        initialized,
        request(1, "tools/call", { name: "run", arguments: { command: ["sh", "-c", "sleep 1; exit 3"], name: "e1" } }),
        request(2, "tools/call", { name: "wait", arguments: { id: "e1", timeoutSecs: 60 } }),
        request(3, "tools/list")
      ],
      { end: true }
    )
    expect(await server.exited).toBe(0)
    const byId = new Map(server.answers.map((a) => [a.id, a]))
    expect([...byId.keys()].sort()).toEqual([0, 1, 2, 3])
    expect(byId.get(2).result.structuredContent).toMatchObject({ exitCode: 3, job: { name: "e1", status: "failed" } })
  }, 120_000)
})

describe("jobs mcp and a cancelled request", () => {
  it("stops waiting when the client cancels a wait, answers what follows, and exits when its input ends", async () => {
    const home = tmp.home()
    const server = raw(
      home,
      [
        initialize,
        initialized,
        request(1, "tools/call", { name: "run", arguments: { command: ["sleep", "300"], name: "c1" } }),
        request(2, "tools/call", { name: "wait", arguments: { id: "c1" } })
      ],
      { end: false }
    )
    await server.until(() => server.answers.some((a) => a.id === 1), "the run's answer")
    // the wait is under way (it was handed on once run was answered): cancel it
    await new Promise((r) => setTimeout(r, 500))
    server.child.stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } })}\n`
    )
    server.child.stdin.end(`${request(3, "tools/call", { name: "status", arguments: { id: "c1" } })}\n`)
    expect(await server.exited).toBe(0)
    const ids = server.answers.map((a) => a.id)
    // a cancelled request is not answered (MCP: the receiver should not respond to it)
    expect(ids.sort()).toEqual([0, 1, 3])
    // the job itself goes on: only the wait was cancelled
    expect(["pending", "running"]).toContain(server.answers.find((a) => a.id === 3).result.structuredContent.status)
  }, 120_000)
})

/** Runs the MCP inspector's CLI against `jobs mcp` and returns its exit code, stdout and stderr. */
const inspector = (home: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = ChildProcess.spawn(process.execPath, [INSPECTOR, process.execPath, BIN, "mcp", ...args], {
      env: envFor(home),
      cwd: tmp.dir(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

const parsed = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

describe("jobs mcp with the MCP inspector's CLI", () => {
  it("lists tools, runs, waits, reads logs and resources, and reports an unknown tool and a missing resource", async () => {
    const home = tmp.home()
    const tools = parsed(await inspector(home, ["--method", "tools/list"]))
    expect(tools.tools.map((t: any) => t.name).sort()).toEqual(
      ["list", "logs", "retry", "run", "status", "stop", "summary", "wait"].sort()
    )

    const run = parsed(
      await inspector(home, [
        "--method",
        "tools/call",
        "--tool-name",
        "run",
        "--tool-arg",
        'command=["sh","-c","echo from the inspector"]',
        "name=insp"
      ])
    )
    expect(run.isError).toBeFalsy()
    const id = run.structuredContent.id as string

    const wait = parsed(
      await inspector(home, [
        "--method",
        "tools/call",
        "--tool-name",
        "wait",
        "--tool-arg",
        "id=insp",
        "timeoutSecs=60"
      ])
    )
    expect(wait.structuredContent).toMatchObject({ exitCode: 0, job: { id, status: "completed" } })

    const logs = parsed(
      await inspector(home, ["--method", "tools/call", "--tool-name", "logs", "--tool-arg", `id=${id}`])
    )
    expect(logs.structuredContent).toMatchObject({ text: "from the inspector\n", ended: true })

    const resources = parsed(await inspector(home, ["--method", "resources/list"]))
    expect(resources.resources.map((r: any) => r.uri).sort()).toEqual([`jobs://${id}/output`, `jobs://${id}/status`])
    const templates = parsed(await inspector(home, ["--method", "resources/templates/list"]))
    expect(templates.resourceTemplates).toHaveLength(3)

    const read = parsed(await inspector(home, ["--method", "resources/read", "--uri", `jobs://${id}/output`]))
    expect(read.contents[0].text).toBe("from the inspector\n")

    const bad = parsed(
      await inspector(home, ["--method", "tools/call", "--tool-name", "wait", "--tool-arg", "timeoutSecs=5"])
    )
    expect(bad).toMatchObject({
      isError: true,
      content: [{ text: 'Cannot call tool "wait": argument "id" is missing' }]
    })

    const unknown = await inspector(home, ["--method", "tools/call", "--tool-name", "nosuchtool"])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/MCP error -32602: Cannot call tool "nosuchtool": no such tool/)

    const missing = await inspector(home, ["--method", "resources/read", "--uri", "jobs://nosuchjob/output"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/MCP error -32002: Cannot read resource "jobs:\/\/nosuchjob\/output": /)
  }, 300_000)
})
