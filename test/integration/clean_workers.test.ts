// `jobs clean --yes` removes ended remote jobs on their workers too (folder, work dir, session), and a worker it
// cannot reach keeps its jobs whole and is named, while the others are cleaned all the same. A real sshd on loopback.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { jobs, json, type Result } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi) console.warn("SKIPPING clean on workers: install openssh-server (apt-get install openssh-server)")
let server: Sshd.Sshd | undefined

beforeAll(async () => {
  if (can || inCi) server = await Sshd.start()
})
afterAll(() => {
  server?.stop()
  tmp.cleanup()
})

describe.skipIf(!can && !inCi)("jobs clean with remote jobs", () => {
  it("removes ended jobs' folders on their workers, and names the worker it could not reach", () => {
    const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    const as = (home: string, args: ReadonlyArray<string>, cwd?: string): Result =>
      jobs(args, { home, env, ...(cwd === undefined ? {} : { cwd }) })
    const home = tmp.home()
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "known_hosts"),
      `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
    )
    const near = Path.join(tmp.dir(), "near")
    const far = Path.join(tmp.dir(), "far")
    const target = `root@127.0.0.1:${server!.port}`
    expect(as(home, ["worker", "add", "near", target, "--remote-home", near]).code).toBe(0)
    expect(as(home, ["worker", "add", "far", target, "--remote-home", far]).code).toBe(0)
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "data.txt"), "x\n")
    const submit = (worker: string) => {
      const r = as(home, ["run", "--on", worker, "--json", "--", "true"], project)
      expect(r.code, r.stderr).toBe(0)
      const job = json<{ id: string; shortId: string }>(r)
      expect(as(home, ["wait", job.id, "--timeout", "60s"]).code).toBe(0)
      return job
    }
    const a = submit("near")
    const b = submit("far")
    const remoteDirs = (root: string, id: string) =>
      [Path.join(root, "jobs", id), Path.join(root, "workdirs", id)].filter((d) => Fs.existsSync(d))
    expect(remoteDirs(near, a.id)).toHaveLength(2)
    expect(remoteDirs(far, b.id)).toHaveLength(2)
    // worker "far" can no longer be reached: its port now leads nowhere
    const registry = Path.join(home, "workers.yaml")
    const text = Fs.readFileSync(registry, "utf8")
    const farAt = text.indexOf("far")
    Fs.writeFileSync(registry, text.slice(0, farAt) + text.slice(farAt).replace(String(server!.port), "1"))

    const clean = as(home, ["clean", "--all", "--yes"])
    expect(clean.code).toBe(1)
    expect(clean.stdout).toBe("removed 1 job\n")
    const lines = clean.stderr.trimEnd().split("\n")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(new RegExp(`^Cannot remove job "${b.shortId}" from worker "far"`))
    expect(lines[1]).toMatch(/^Cannot clean 1 remote job: their worker could not be reached/)
    // near: gone here and there; far: whole here and there, for a later clean
    expect(remoteDirs(near, a.id)).toEqual([])
    expect(Fs.existsSync(Path.join(home, "jobs", a.id))).toBe(false)
    expect(remoteDirs(far, b.id)).toHaveLength(2)
    expect(json<Array<{ id: string }>>(as(home, ["list", "--all", "--json"])).map((j) => j.id)).toEqual([b.id])
    // once it can be reached again, the next clean finishes the work
    Fs.writeFileSync(registry, text)
    const again = as(home, ["clean", "--all", "--yes"])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toBe("removed 1 job\n")
    expect(remoteDirs(far, b.id)).toEqual([])
  }, 180_000)
})
