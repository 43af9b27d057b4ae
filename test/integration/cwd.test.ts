// Where a job runs (issue 15 §3): a cwd is settled once, in core, to the real path of an existing directory and
// recorded so; a relative one is taken from the CLI's own directory, and refused where a surface has none (an
// agent's MCP call, an HTTP request, a library call without `relativeTo`). Never `/`: an agent's `rm -rf build` once
// ran there. Every surface is driven for real: the bin, the MCP SDK's client over stdio, HTTP, the library.
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { afterAll, describe, expect, it } from "vitest"
import { layer } from "../../adapters/mod.ts"
import { Jobs } from "../../core/mod.ts"
import { BIN, eventually, jobs, json } from "../support/cli.ts"
import { readEvents, scratch } from "../support/job_files.ts"

const tmp = scratch()
// a job that runs in `/` by mistake leaves this file there: the tests look for it, and remove it if they find it
const marker = `jobs-cwd-test-${process.pid}-${Crypto.randomBytes(4).toString("hex")}`
const inRoot = Path.join("/", marker)
afterAll(() => {
  Fs.rmSync(inRoot, { force: true })
  tmp.cleanup()
})

const write = ["sh", "-c", `pwd > ${marker}`]

/** A project folder: `sub/`, `real/` and `link` -> `real`, as the caller's directory. */
const project = () => {
  const dir = Fs.realpathSync(tmp.dir())
  Fs.mkdirSync(Path.join(dir, "sub"))
  Fs.mkdirSync(Path.join(dir, "real"))
  Fs.symlinkSync(Path.join(dir, "real"), Path.join(dir, "link"))
  return dir
}

const env = (home: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_EXTRA_CA_CERTS") out[k] = v
  out.JOBS_HOME = home
  delete out.JOBS_TOKEN
  return out
}

/** What a job wrote to the marker in `dir`, once it has. */
const markerIn = (dir: string) =>
  eventually(() => {
    try {
      const text = Fs.readFileSync(Path.join(dir, marker), "utf8")
      return text.endsWith("\n") ? text.trim() : undefined
    } catch {
      return undefined
    }
  })

const jobCount = (home: string) => {
  try {
    return Fs.readdirSync(Path.join(home, "jobs")).length
  } catch {
    return 0
  }
}

describe("a job's cwd, from the CLI", () => {
  it("is taken from the CLI's own directory, and recorded as the real path after symlinks", async () => {
    const home = tmp.home()
    const dir = project()
    const relative = json<{ id: string; cwd: string }>(
      jobs(["run", "--cwd", "sub", "--json", "--", ...write], { home, cwd: dir })
    )
    expect(relative.cwd).toBe(Path.join(dir, "sub"))
    expect(await markerIn(Path.join(dir, "sub"))).toBe(Path.join(dir, "sub"))

    const linked = json<{ id: string; cwd: string }>(
      jobs(["run", "--cwd", "link", "--json", "--", ...write], { home, cwd: dir })
    )
    expect(linked.cwd).toBe(Path.join(dir, "real"))
    const submitted = readEvents(home, linked.id).find((e) => e.type === "Submitted")
    expect(submitted?.spec.cwd).toBe(Path.join(dir, "real"))
    expect(jobs(["wait", linked.id], { home }).code).toBe(0)
    expect(await markerIn(Path.join(dir, "real"))).toBe(Path.join(dir, "real"))

    // the lines of a batch share the flags' cwd, settled the same way
    const batch = jobs(["run", "--cwd", "link", "--each", "-", "--json"], {
      home,
      cwd: dir,
      input: "true\ntrue\n"
    })
    expect(batch.code, batch.stderr).toBe(0)
    expect(json<Array<{ cwd: string }>>(batch).map((j) => j.cwd)).toEqual([
      Path.join(dir, "real"),
      Path.join(dir, "real")
    ])

    // a directory that is missing, or a file, is refused in one line before anything is written
    const before = jobCount(home)
    const missing = jobs(["run", "--cwd", "nope", "--", "true"], { home, cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe(`Cannot run job in "${Path.join(dir, "nope")}": no such directory`)
    Fs.writeFileSync(Path.join(dir, "file"), "")
    const file = jobs(["run", "--cwd", "file", "--", "true"], { home, cwd: dir })
    expect(file.code).toBe(2)
    expect(file.stderr.trim()).toBe(`Cannot run job in "${Path.join(dir, "file")}": not a directory`)
    expect(jobCount(home)).toBe(before)
    expect(Fs.existsSync(inRoot)).toBe(false)
  })

  it("starts and waits for jobs in a relative --home or JOBS_HOME", () => {
    const dir = project()
    const byFlag = jobs(["--home", "rel/home", "run", "--json", "--", "sh", "-c", "exit 3"], { cwd: dir })
    expect(byFlag.code, byFlag.stderr).toBe(0)
    const id = json<{ id: string }>(byFlag).id
    expect(jobs(["--home", "rel/home", "wait", id], { cwd: dir }).code).toBe(3)
    expect(Fs.existsSync(Path.join(dir, "rel/home/jobs", id, "events.jsonl"))).toBe(true)

    // the job inherits JOBS_HOME made absolute: a `jobs` it runs from its own cwd finds the same home
    const byEnv = jobs(["run", "--cwd", "sub", "--json", "--", "sh", "-c", 'echo "$JOBS_HOME"; exit 4'], {
      cwd: dir,
      env: { JOBS_HOME: "rel/env" }
    })
    expect(byEnv.code, byEnv.stderr).toBe(0)
    const other = json<{ id: string }>(byEnv).id
    expect(jobs(["wait", other], { cwd: dir, env: { JOBS_HOME: "rel/env" } }).code).toBe(4)
    expect(jobs(["logs", other], { cwd: dir, env: { JOBS_HOME: "rel/env" } }).stdout).toBe(`${dir}/rel/env\n`)
  })

  it("refuses to retry a job whose log recorded a relative cwd (older versions took it from an agent or a form)", () => {
    const home = tmp.home()
    const dir = project()
    const job = json<{ id: string }>(jobs(["run", "--json", "--", ...write], { home, cwd: dir }))
    expect(jobs(["wait", job.id], { home }).code).toBe(0)
    Fs.rmSync(Path.join(dir, marker))
    // the log as an older version wrote it for MCP's run {cwd: "sub"}
    const log = Path.join(home, "jobs", job.id, "events.jsonl")
    Fs.writeFileSync(log, Fs.readFileSync(log, "utf8").replace(`"cwd":${JSON.stringify(dir)}`, '"cwd":"sub"'))
    const retried = jobs(["retry", job.id], { home, cwd: dir })
    expect(retried.code).toBe(2)
    expect(retried.stderr.trim()).toBe('Cannot run job in "sub": the directory is relative; give an absolute path')
    expect(jobCount(home)).toBe(1)
    expect(Fs.existsSync(inRoot)).toBe(false)
  })
})

describe("a job's cwd, from an agent over MCP", () => {
  it("refuses a relative cwd, and records a symlinked one as its real path", async () => {
    const home = tmp.home()
    const dir = project()
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["--", BIN, "mcp"],
      env: env(home),
      cwd: dir
    })
    const client = new Client({ name: "jobs-test", version: "1.0.0" })
    await client.connect(transport)
    try {
      const refused = (await client.callTool({ name: "run", arguments: { command: write, cwd: "sub" } })) as {
        isError?: boolean
        content: Array<{ text: string }>
      }
      expect(refused.isError).toBe(true)
      expect(refused.content[0]!.text).toBe('Cannot run job in "sub": the directory is relative; give an absolute path')
      expect(jobCount(home)).toBe(0)

      const linked = (await client.callTool({
        name: "run",
        arguments: { command: write, cwd: Path.join(dir, "link") }
      })) as { isError?: boolean; structuredContent?: { id: string; cwd: string } }
      expect(linked.isError).toBeFalsy()
      expect(linked.structuredContent!.cwd).toBe(Path.join(dir, "real"))
      await client.callTool({ name: "wait", arguments: { id: linked.structuredContent!.id, timeoutSecs: 30 } })
      expect(await markerIn(Path.join(dir, "real"))).toBe(Path.join(dir, "real"))

      // without a cwd, the server's own directory (absolute) is used, as the tool says
      const plain = (await client.callTool({ name: "run", arguments: { command: ["true"] } })) as {
        structuredContent?: { cwd: string }
      }
      expect(plain.structuredContent!.cwd).toBe(dir)
    } finally {
      await client.close()
    }
    expect(Fs.existsSync(inRoot)).toBe(false)
    expect(Fs.existsSync(Path.join(dir, "sub", marker))).toBe(false)
  })
})

describe("a job's cwd, from a page or a script over HTTP", () => {
  it("refuses a relative cwd with a 400 and one line, and creates no job", async () => {
    const home = tmp.home()
    const dir = project()
    const server = ChildProcess.spawn(process.execPath, ["--", BIN, "serve", "--port", "0"], {
      env: env(home),
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ""
        server.stdout!.on("data", (d) => {
          out += String(d)
          if (out.includes("\n")) resolve(out)
        })
        server.on("exit", (code) => reject(new Error(`jobs serve exited with ${code}`)))
      })
      const url = new URL(/http:\/\/\S+/.exec(line)![0])
      const token = url.searchParams.get("token") ?? Fs.readFileSync(Path.join(home, "serve-token"), "utf8").trim()
      const post = async (body: Record<string, unknown>) => {
        for (let i = 0; ; i++) {
          try {
            return await fetch(`${url.origin}/api/jobs`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify(body)
            })
          } catch (e) {
            if (i > 200) throw e
            await new Promise((r) => setTimeout(r, 25))
          }
        }
      }
      const refused = await post({ command: `pwd > ${marker}`, cwd: "sub" })
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { error: string }).error).toBe(
        'Cannot run job in "sub": the directory is relative; give an absolute path'
      )
      expect(jobCount(home)).toBe(0)

      const linked = await post({ command: `pwd > ${marker}`, cwd: Path.join(dir, "link") })
      expect(linked.status).toBe(201)
      expect(((await linked.json()) as { cwd: string }).cwd).toBe(Path.join(dir, "real"))
      expect(await markerIn(Path.join(dir, "real"))).toBe(Path.join(dir, "real"))
    } finally {
      server.kill()
    }
    expect(Fs.existsSync(inRoot)).toBe(false)
    expect(Fs.existsSync(Path.join(dir, "sub", marker))).toBe(false)
  })
})

describe("a job's cwd and home, from the library", () => {
  const here = process.cwd()
  const inDir = async <A>(dir: string, f: () => Promise<A>): Promise<A> => {
    process.chdir(dir)
    try {
      return await f()
    } finally {
      process.chdir(here)
    }
  }
  const pathEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin" }

  it("refuses a relative cwd without relativeTo, takes it from relativeTo, and records real paths", async () => {
    const home = tmp.home()
    const dir = project()
    const outcome = await inDir(dir, () =>
      Effect.runPromise(
        Effect.gen(function* () {
          const jobs = yield* Jobs.Jobs
          const refused = yield* Effect.either(jobs.submit({ command: write, cwd: "sub", env: pathEnv }))
          const based = yield* jobs.submit({ command: write, cwd: "link", relativeTo: dir, env: pathEnv })
          yield* jobs.wait(based.job.id, { timeoutSecs: 30 })
          return { refused, based: based.job }
        }).pipe(Effect.provide(layer(home)))
      )
    )
    expect(Either.isLeft(outcome.refused)).toBe(true)
    if (Either.isLeft(outcome.refused)) {
      expect(outcome.refused.left.message).toBe(
        'Cannot run job in "sub": the directory is relative; give an absolute path'
      )
    }
    expect(outcome.based.cwd).toBe(Path.join(dir, "real"))
    expect(await markerIn(Path.join(dir, "real"))).toBe(Path.join(dir, "real"))
    expect(jobCount(home)).toBe(1)
    expect(Fs.existsSync(inRoot)).toBe(false)
  })

  it("resolves a relative home once, when the layer is made, and its jobs start and end", async () => {
    const dir = project()
    const elsewhere = Fs.realpathSync(tmp.dir())
    // the layer is made in `dir`; the program runs after a chdir elsewhere: the home stays where it was named
    const made = await inDir(dir, async () => layer("rel/home"))
    const waited = await inDir(elsewhere, () =>
      Effect.runPromise(
        Effect.gen(function* () {
          const jobs = yield* Jobs.Jobs
          const { job } = yield* jobs.submit({ command: ["sh", "-c", "exit 3"], cwd: dir, env: pathEnv })
          return yield* jobs.wait(job.id, { timeoutSecs: 30 })
        }).pipe(Effect.provide(made))
      )
    )
    expect(Option.isSome(waited)).toBe(true)
    const job = Option.getOrThrow(waited)
    expect(job).toMatchObject({ status: "failed", exitCode: 3 })
    expect(job.eventsPath).toBe(Path.join(dir, "rel/home/jobs", job.id, "events.jsonl"))
    expect(Fs.existsSync(Path.join(elsewhere, "rel"))).toBe(false)
  })
})
