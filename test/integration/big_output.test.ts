// A job that prints 200 MB: output.log keeps every byte, and `jobs logs` streams it back whole in bounded memory.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, jobs, json } from "../support/cli.ts"
import { jobDir, scratch } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

const SIZE = 200 * 1024 * 1024
const TIME = "/usr/bin/time"

/** Whether two files hold the same bytes (compared a block at a time). */
const sameBytes = (a: string, b: string): boolean => {
  const fa = Fs.openSync(a, "r")
  const fb = Fs.openSync(b, "r")
  try {
    const ba = Buffer.alloc(1024 * 1024)
    const bb = Buffer.alloc(1024 * 1024)
    for (let pos = 0; ; pos += ba.length) {
      const na = Fs.readSync(fa, ba, 0, ba.length, pos)
      const nb = Fs.readSync(fb, bb, 0, bb.length, pos)
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false
      if (na === 0) return true
    }
  } finally {
    Fs.closeSync(fa)
    Fs.closeSync(fb)
  }
}

/**
 * Runs `jobs ARGS` with stdout to a file and returns its exit code and peak RSS in KiB: from GNU time when it is
 * there, else from VmHWM (a high-water mark, so the last reading before the exit is the peak so far).
 */
const runToFile = (args: ReadonlyArray<string>, home: string, outFile: string) =>
  new Promise<{ code: number | null; stderr: string; peakKib: number }>((resolve) => {
    const out = Fs.openSync(outFile, "w")
    const env: NodeJS.ProcessEnv = { ...process.env, JOBS_HOME: home }
    delete env.NODE_EXTRA_CA_CERTS
    const rssFile = `${outFile}.rss`
    const useTime = Fs.existsSync(TIME)
    const argv = useTime
      ? [TIME, ["-f", "%M", "-o", rssFile, process.execPath, "--", BIN, ...args]]
      : [process.execPath, ["--", BIN, ...args]]
    const child = ChildProcess.spawn(argv[0] as string, argv[1] as Array<string>, {
      env,
      cwd: tmp.dir(),
      stdio: ["ignore", out, "pipe"]
    })
    let stderr = ""
    let hwm = 0
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))
        if (m !== null) hwm = Math.max(hwm, Number(m[1]))
      } catch {
        // it has just ended
      }
    }, 10)
    child.on("close", (code) => {
      clearInterval(poll)
      Fs.closeSync(out)
      const peakKib = useTime ? Number(Fs.readFileSync(rssFile, "utf8").trim().split("\n").pop()) : hwm
      resolve({ code, stderr, peakKib })
    })
  })

describe("a job with 200 MB of output", () => {
  it("keeps every byte in output.log, and jobs logs streams them back with a bounded peak RSS", async () => {
    const home = tmp.home()
    const run = jobs(["run", "--json", "--", "sh", "-c", `seq 1 40000000 | head -c ${SIZE}`], { home })
    expect(run.code, run.stderr).toBe(0)
    const { id } = json<{ id: string }>(run)
    const wait = jobs(["wait", id], { home })
    expect(wait.code, wait.stderr).toBe(0)

    const logPath = Path.join(jobDir(home, id), "output.log")
    expect(Fs.statSync(logPath).size).toBe(SIZE)

    const outFile = Path.join(tmp.dir(), "logs.out")
    const logs = await runToFile(["logs", id], home, outFile)
    expect(logs.code, logs.stderr).toBe(0)
    expect(Fs.statSync(outFile).size).toBe(SIZE)
    expect(sameBytes(outFile, logPath)).toBe(true)
    expect(logs.peakKib).toBeGreaterThan(0)
    expect(logs.peakKib, `peak RSS of jobs logs: ${logs.peakKib} KiB`).toBeLessThan(150 * 1024)
    Fs.rmSync(outFile)

    // following an ended job's log is the same stream, and ends by itself
    const follow = await runToFile(["logs", "-f", id], home, outFile)
    expect(follow.code, follow.stderr).toBe(0)
    expect(Fs.statSync(outFile).size).toBe(SIZE)
    expect(follow.peakKib, `peak RSS of jobs logs -f: ${follow.peakKib} KiB`).toBeLessThan(150 * 1024)
  }, 120_000)
})
