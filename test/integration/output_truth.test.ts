// Output and logs tell the truth: a reader whose pipe closes exits like `cat`, a deleted cwd is one line, a
// killed output writer is named as such, and a capped log reads as one stream (head, marker, latest output).
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { BIN, eventually, jobs, jobsAsync, json, tempDir } from "../support/cli.ts"

const home = tempDir("jobs-output-")
const stopped: Array<string> = []
afterAll(() => {
  for (const id of stopped) jobs(["stop", id], { home })
  Fs.rmSync(home, { recursive: true, force: true })
})

/** Runs `jobs ARGS | READER` in a real bash and returns jobs' own exit status and stderr. */
const piped = (args: string, reader: string): { readonly status: number; readonly stderr: string } => {
  const script = `node -- ${BIN} ${args} 2>"$ERR" | ${reader} >/dev/null; echo "\${PIPESTATUS[0]}"`
  const err = Path.join(tempDir(), "stderr")
  const r = ChildProcess.spawnSync("bash", ["-c", script], {
    env: { ...process.env, JOBS_HOME: home, ERR: err },
    encoding: "utf8",
    timeout: 60_000
  })
  return { status: Number(r.stdout.trim()), stderr: Fs.readFileSync(err, "utf8") }
}

describe("a reader whose pipe closes", () => {
  it("leaves jobs quiet, with exit 0 or 141, for logs, events, logs -f, list --json and run --json", async () => {
    // enough output (and events) that the writes outlive the reader
    const many = jobs(["run", "--json", "--name", "many", "--", "sh", "-c", "seq 1 300000"], { home })
    expect(many.code).toBe(0)
    const id = json<{ id: string }>(many).id
    expect(jobs(["wait", id], { home }).code).toBe(0)
    await Promise.all(Array.from({ length: 40 }, () => jobsAsync(["run", "--", "true"], { home })))
    const follow = jobs(["run", "--json", "--", "sh", "-c", "seq 1 300000; sleep 30"], { home })
    const followId = json<{ id: string }>(follow).id
    stopped.push(followId)
    const cases: ReadonlyArray<readonly [string, string]> = [
      [`logs ${id}`, "head -1"],
      [`events ${id}`, "head -1"],
      [`logs -f ${followId}`, "head -1"],
      ["list --all --json", "head -c 10"],
      ["list --all", "head -1"],
      ["run --json -- true", "head -c 0"]
    ]
    for (const [args, reader] of cases) {
      const r = piped(args, reader)
      expect({ args, stderr: r.stderr }).toEqual({ args, stderr: "" })
      expect([0, 141], args).toContain(r.status)
    }
  }, 240_000)
})

describe("a deleted current directory", () => {
  it("is one `Cannot …` line for run and list, not a stack", () => {
    for (const args of ["run -- true", "run --name x -- sh -c true", "list", "status"]) {
      const dir = tempDir("jobs-gone-")
      const script = `cd "$D" && rmdir "$D" && exec node -- ${BIN} ${args}`
      const r = ChildProcess.spawnSync("sh", ["-c", script], {
        env: { ...process.env, JOBS_HOME: home, D: dir },
        encoding: "utf8"
      })
      expect(r.status === 1 || r.status === 2, `${args}: ${r.status} ${r.stderr}`).toBe(true)
      const lines = r.stderr.trim().split("\n")
      expect(lines, args).toHaveLength(1)
      expect(lines[0]).toMatch(/^Cannot .*current directory no longer exists/)
    }
  })
})

/** The pids whose stdin is this job's output fifo, with their command names. */
const fifoReaders = (fifo: string): Array<{ readonly pid: number; readonly comm: string }> => {
  const found: Array<{ pid: number; comm: string }> = []
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (Fs.readlinkSync(`/proc/${entry}/fd/0`) !== fifo) continue
      found.push({ pid: Number(entry), comm: Fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() })
    } catch {
      // gone, or not ours
    }
  }
  return found
}

describe("an output writer killed mid-job", () => {
  for (const [what, pick] of [
    ["its copier", (r: { comm: string }) => r.comm !== "sh"],
    ["the whole writer", (_: { comm: string }) => true]
  ] as const) {
    it(`is recorded as the writer dying, not a full disk (${what})`, async () => {
      const script = "i=0; while [ $i -lt 40 ]; do echo line $i; i=$((i+1)); sleep 0.1; done"
      for (const extra of [[], ["--max-log-size", "64K"]]) {
        const started = jobs(["run", "--json", ...extra, "--", "sh", "-c", script], { home })
        const id = json<{ id: string }>(started).id
        stopped.push(id)
        const dir = Path.join(home, "jobs", id)
        const fifo = Path.join(dir, ".output.fifo")
        const readers = await eventually(() => {
          const found = fifoReaders(fifo)
          return found.some((r) => r.comm !== "sh") ? found : undefined
        })
        for (const r of readers.filter(pick)) process.kill(r.pid, "SIGKILL")
        jobs(["wait", id], { home })
        const events = jobs(["events", id], { home })
          .stdout.trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { type: string; reason?: string })
        const dropped = events.filter((e) => e.type === "OutputDropped")
        expect(dropped, `${what} ${extra.join(" ")}`).toHaveLength(1)
        expect(dropped[0]!.reason).toMatch(/^the output writer died \(killed by SIGKILL\)/)
        expect(events.at(-1)!.type).toBe("Exited")
      }
    }, 120_000)
  }
})

describe("a log capped by --max-log-size", () => {
  it("reads as one stream, live: the head, a marker, then the latest output (logs, --tail, -f, progress)", async () => {
    const script = 'i=0; while [ $i -lt 20000 ]; do echo "step $i/20000"; i=$((i+1)); done; sleep 60'
    const started = jobs(
      [
        "run",
        "--json",
        "--max-log-size",
        "64K",
        "--progress-pattern",
        "step (?<done>\\d+)/(?<total>\\d+)",
        "--"
      ].concat(["sh", "-c", script]),
      { home }
    )
    const id = json<{ id: string }>(started).id
    stopped.push(id)
    // while it runs (it sleeps after its last line), the latest line is there
    await eventually(() =>
      jobs(["logs", "--tail", "1", id], { home }).stdout === "step 19999/20000\n" ? true : undefined
    )
    expect(jobs(["logs", "--tail", "2", id], { home }).stdout).toBe("step 19998/20000\nstep 19999/20000\n")
    const all = jobs(["logs", id], { home }).stdout
    expect(all.startsWith("step 0/20000\nstep 1/20000\n")).toBe(true)
    expect(all.endsWith("step 19999/20000\n")).toBe(true)
    const marker = /\n\[jobs: (\d+) bytes skipped\]\n/.exec(all)
    expect(marker).not.toBeNull()
    // the head is whole (64 KiB) and the lines after the marker run on, one by one, to the last
    expect(Buffer.byteLength(all.slice(0, marker!.index))).toBe(64 * 1024)
    const after = all
      .slice(marker!.index + marker![0].length)
      .split("\n")
      .filter((l) => l.startsWith("step "))
    const numbers = after.slice(1).map((l) => Number(/step (\d+)/.exec(l)![1]))
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i))
    expect(numbers.at(-1)).toBe(19999)
    // progress reads the latest output, not the end of the head
    const status = json<{ progress: { done: number; total: number } | null }>(jobs(["status", "--json", id], { home }))
    expect(status.progress).toMatchObject({ done: 19999, total: 20000 })
    // and so does MCP's logs tool, paging through the same stream
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_EXTRA_CA_CERTS") env[k] = v
    const client = new Client({ name: "jobs-test", version: "1.0.0" })
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ["--", BIN, "mcp"],
        env: { ...env, JOBS_HOME: home }
      })
    )
    try {
      const tail = (await client.callTool({ name: "logs", arguments: { id, tailLines: 1 } })) as unknown as {
        structuredContent: { text: string; nextOffset: number }
      }
      expect(tail.structuredContent.text).toBe("step 19999/20000\n")
      const whole = (await client.callTool({ name: "logs", arguments: { id, maxBytes: 1024 * 1024 } })) as unknown as {
        structuredContent: { text: string }
      }
      expect(whole.structuredContent.text).toBe(all)
    } finally {
      await client.close()
    }
    // logs -f shows the latest output too
    const child = ChildProcess.spawn(process.execPath, ["--", BIN, "logs", "-f", id], {
      env: { ...process.env, JOBS_HOME: home },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let followed = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (followed += d))
    try {
      await eventually(() => (followed.endsWith("step 19999/20000\n") ? true : undefined))
      expect(followed).toBe(all)
    } finally {
      child.kill()
    }
  }, 120_000)
})

/** A PATH with every tool of /usr/bin and /bin but perl (a busybox-like worker's lack of it). */
const pathWithoutPerl = (): string => {
  const dir = tempDir("jobs-noperl-")
  for (const from of ["/usr/local/bin", "/usr/bin", "/bin"]) {
    let names: Array<string> = []
    try {
      names = Fs.readdirSync(from)
    } catch {
      continue
    }
    for (const name of names) {
      if (name.startsWith("perl") || Fs.existsSync(Path.join(dir, name))) continue
      Fs.symlinkSync(Path.join(from, name), Path.join(dir, name))
    }
  }
  return dir
}

describe("capturing a capped log", () => {
  for (const [what, env] of [
    ["with perl", {}],
    ["without perl (busybox-like)", { PATH: pathWithoutPerl() }]
  ] as const) {
    it(`keeps every byte, in order and live, in bounded pieces (${what})`, async () => {
      // 300-byte lines, a few at a time: about 60 pieces of 1 KiB go by while the job runs
      const script =
        'i=0; while [ $i -lt 200 ]; do printf "line %05d %0290d\\n" $i 0; i=$((i+1)); ' +
        "[ $((i % 4)) -eq 0 ] && sleep 0.05; done; sleep 30"
      const started = jobs(["run", "--json", "--max-log-size", "4K", "--", "sh", "-c", script], { home, env })
      const id = json<{ id: string }>(started).id
      stopped.push(id)
      const dir = Path.join(home, "jobs", id)
      const fifo = Path.join(dir, ".output.fifo")
      // who copies the output, sampled while it flows, until the last line is readable (live: the job sleeps then)
      const copiers = new Set<string>()
      await eventually(() => {
        for (const r of fifoReaders(fifo)) if (r.comm !== "sh") copiers.add(`${r.pid} ${r.comm}`)
        const last = jobs(["logs", "--tail", "1", id], { home }).stdout
        return last.startsWith("line 00199 ") ? true : undefined
      }, 60_000)
      if (what === "with perl") expect([...copiers]).toHaveLength(1)
      const all = jobs(["logs", id], { home }).stdout
      const marker = /\n\[jobs: (\d+) bytes skipped\]\n/.exec(all)
      expect(marker).not.toBeNull()
      expect(Buffer.byteLength(all.slice(0, marker!.index))).toBe(4096)
      // the head's lines from the first, then after the marker consecutive lines to the last one
      const head = all.slice(0, marker!.index).split("\n").slice(0, -1)
      expect(head.map((l) => l.slice(0, 10))).toEqual(head.map((_, i) => `line ${String(i).padStart(5, "0")}`))
      const after = all
        .slice(marker!.index + marker![0].length)
        .split("\n")
        .slice(1, -1)
      const numbers = after.map((l) => Number(/^line (\d+) 0{290}$/.exec(l)![1]))
      expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i))
      expect(numbers.at(-1)).toBe(199)
      // the pieces kept are bounded: the last two whole ones and the one growing, of a quarter of the limit each
      const sizes = Fs.readdirSync(dir)
        .filter((f) => /^output\.tail\.\d+$/.test(f))
        .map((p) => Fs.statSync(Path.join(dir, p)).size)
      expect(sizes.length).toBeLessThanOrEqual(3)
      for (const n of sizes) expect(n).toBeLessThanOrEqual(1025)
      // one OutputTruncated
      const truncated = jobs(["events", id], { home })
        .stdout.trim()
        .split("\n")
        .filter((l) => l.includes('"type":"OutputTruncated"'))
      expect(truncated).toHaveLength(1)
      expect(JSON.parse(truncated[0]!)).toMatchObject({ keptBytes: 4096, id: `${id}.truncated` })
    }, 120_000)
  }
})
