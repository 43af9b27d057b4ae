// A private sshd on loopback for a test file, and homes with worker "w" registered on it: the set-up every test
// of remote jobs starts with. Started before the file's tests (when sshd is there, or in CI, where its absence
// fails), stopped after them.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, expect } from "vitest"
import { jobs, type Result } from "./cli.ts"
import type { scratch } from "./job_files.ts"
import * as Sshd from "./sshd.ts"

/** The server of this file and its helpers; `what` names the tests in the message when sshd is missing. */
export const workerSuite = (tmp: ReturnType<typeof scratch>, what: string) => {
  const inCi = process.env.CI !== undefined
  const can = Sshd.available()
  if (!can && !inCi) console.warn(`SKIPPING ${what}: install openssh-server (apt-get install openssh-server)`)
  let server: Sshd.Sshd | undefined
  beforeAll(async () => {
    if (can || inCi) server = await Sshd.start()
  })
  afterAll(() => {
    server?.stop()
    tmp.cleanup()
  })
  /** The environment of `jobs` as the test's user: the client home that knows the server, no agent. */
  const env = () => ({ HOME: server!.clientHome, SSH_AUTH_SOCK: undefined })
  /** `jobs ARGS` in `home` as that user. */
  const as = (home: string, args: ReadonlyArray<string>, cwd?: string): Result =>
    jobs(args, { home, env: env(), ...(cwd === undefined ? {} : { cwd }) })
  /** A new home with worker "w" on the server (its host key known), and the worker's remote home. */
  const withWorker = () => {
    const home = tmp.home()
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "known_hosts"),
      `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
    )
    const worker = Path.join(tmp.dir(), "remote-home")
    expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", worker]).code).toBe(0)
    return { home, worker }
  }
  return { enabled: can || inCi, server: () => server!, env, as, withWorker }
}
