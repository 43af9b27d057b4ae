// Values that enter a worker's shell are quoted by one function (core/shell.ts): `worker add --remote-home` with a
// quote and a command in it, against a real sshd on loopback, runs nothing on the worker.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { jobs, type Result } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi)
  console.warn("SKIPPING remote quoting tests: install openssh-server (apt-get install openssh-server)")
let server: Sshd.Sshd | undefined

beforeAll(async () => {
  if (can || inCi) server = await Sshd.start()
})
afterAll(() => {
  server?.stop()
  tmp.cleanup()
})

const as = (home: string, args: ReadonlyArray<string>): Result =>
  jobs(args, { home, env: { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined } })

describe.skipIf(!can && !inCi)("values in a worker's shell", () => {
  it("worker add --remote-home with a quote and a command: the command never runs, the path is taken as is", () => {
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "known_hosts"),
      `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
    )
    const target = `root@127.0.0.1:${server!.port}`
    const marker = Path.join(tmp.dir(), "pwned")
    const base = tmp.dir()
    const homes = [
      `${base}/x'; touch ${marker}-1; '`,
      `${base}/y"; touch ${marker}-2; "`,
      `${base}/$(touch ${marker}-3)`,
      `~/z'; touch ${marker}-4; '`,
      `~/w; touch ${marker}-5 #`
    ]
    // the ~ ones land in the HOME of the server's login (this user's): they are removed at the end
    const inHome = homes
      .filter((h) => h.startsWith("~/"))
      .map((h) => Path.join(Os.homedir(), h.slice(2).split("/")[0]!))
    try {
      for (const [i, remoteHome] of homes.entries()) {
        const home = tmp.home()
        const r = as(home, ["worker", "add", `w${i}`, target, "--remote-home", remoteHome])
        expect(r.code, r.stderr).toBe(0)
        expect(as(home, ["worker", "ls", "--json"]).stdout).toContain(JSON.stringify(remoteHome))
      }
      for (const dir of inHome) expect(Fs.existsSync(dir), dir).toBe(true)
    } finally {
      for (const dir of inHome) Fs.rmSync(dir, { recursive: true, force: true })
    }
    for (let i = 1; i <= homes.length; i++) expect(Fs.existsSync(`${marker}-${i}`), `marker ${i}`).toBe(false)
    // the absolute ones were created as the very folders named (the ~ ones under the test server's HOME)
    expect(Fs.existsSync(homes[0]!)).toBe(true)
    expect(Fs.existsSync(homes[2]!)).toBe(true)
  })
})
