// SSH workers against a real sshd on loopback: registering with host key verification (unknown, accepted,
// changed, hashed known_hosts), ~/.ssh/config aliases, the reachability check, and the registry commands.
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, jobsAsync, json, type Result } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"
import { terminals } from "../support/terminal.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi) console.warn("SKIPPING worker tests: install openssh-server (apt-get install openssh-server)")
let server: Sshd.Sshd | undefined
const terms = terminals(tmp)

beforeAll(async () => {
  if (can || inCi) server = await Sshd.start()
})
afterAll(() => {
  terms.cleanup()
  server?.stop()
  tmp.cleanup()
})

const knownHosts = () => Path.join(server!.clientHome, ".ssh", "known_hosts")
/** The keys OpenSSH's own lookup (ssh-keygen -F) finds for a name in a known_hosts file, as "TYPE BASE64". */
const recorded = (file: string, name: string): Array<string> =>
  ChildProcess.spawnSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" })
    .stdout.split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(" ").slice(1, 3).join(" "))
const as = (home: string, args: ReadonlyArray<string>): Result =>
  jobs(args, { home, env: { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined } })
const remoteHome = () => Path.join(tmp.dir(), "remote-home")

/** A new home with worker "w" on the test server (its host key known), and the client environment to use it. */
const withWorker = () => {
  const home = tmp.home()
  Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
  const worker = remoteHome()
  expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", worker]).code).toBe(0)
  return { home, worker, env: { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined } }
}

describe.skipIf(!can && !inCi)("jobs worker", () => {
  it("refuses an unknown host key, records it with --accept-new-host-key, and checks the worker", () => {
    const home = tmp.home()
    Fs.rmSync(knownHosts(), { force: true })
    const target = `root@127.0.0.1:${server!.port}`
    const refused = as(home, ["worker", "add", "w1", target, "--remote-home", remoteHome()])
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split("\n")).toHaveLength(1)
    expect(refused.stderr).toMatch(
      /^Cannot add worker "w1": the host key of \[127\.0\.0\.1\]:\d+ is not in ~\/\.ssh\/known_hosts/
    )
    expect(json<Array<unknown>>(as(home, ["worker", "ls", "--json"]))).toEqual([])

    const added = as(home, ["worker", "add", "w1", target, "--accept-new-host-key", "--remote-home", remoteHome()])
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toMatch(/added w1 .*the default worker/)
    // recorded as OpenSSH records it ([host]:port, hashed if HashKnownHosts says so): its own lookup finds it
    expect(recorded(knownHosts(), `[127.0.0.1]:${server!.port}`)).toEqual([server!.hostKey])
    expect(Fs.statSync(knownHosts()).mode & 0o777).toBe(0o600)

    const checked = json<Array<{ name: string; isDefault: boolean; check: Record<string, unknown> }>>(
      as(home, ["worker", "ls", "--check", "--json"])
    )
    expect(checked).toHaveLength(1)
    expect(checked[0]).toMatchObject({
      name: "w1",
      isDefault: true,
      check: { reachable: true, tmux: true, rsync: true, sh: true }
    })
    expect(checked[0]!.check.freeBytes).toBeGreaterThan(0)
    // the registry file holds no secret and is private
    const registry = Path.join(home, "workers.yaml")
    expect(Fs.statSync(registry).mode & 0o777).toBe(0o600)
  })

  it("refuses a changed host key with a clear message, even with --accept-new-host-key", () => {
    const home = tmp.home()
    const other = Path.join(tmp.dir(), "other")
    ChildProcess.execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
    const otherKey = Fs.readFileSync(`${other}.pub`, "utf8").split(" ").slice(0, 2).join(" ")
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${otherKey}\n`)
    const r = as(home, ["worker", "add", "w2", `root@127.0.0.1:${server!.port}`, "--accept-new-host-key"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/host key of \[127\.0\.0\.1\]:\d+ has CHANGED/)
    expect(Fs.readFileSync(knownHosts(), "utf8")).toBe(`[127.0.0.1]:${server!.port} ${otherKey}\n`)
  })

  it("reads hashed known_hosts entries and ~/.ssh/config aliases", () => {
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    ChildProcess.execFileSync("ssh-keygen", ["-H", "-f", knownHosts()], { stdio: "ignore" })
    expect(Fs.readFileSync(knownHosts(), "utf8")).toMatch(/^\|1\|/)
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "config"),
      `Host gpu-box\n  HostName 127.0.0.1\n  Port ${server!.port}\n  User root\n  IdentityFile ~/.ssh/id_ed25519\n\nHost *\n  User nobody\n`
    )
    try {
      const r = as(home, ["worker", "add", "box", "gpu-box", "--remote-home", remoteHome()])
      expect(r.code, r.stderr).toBe(0)
      const second = as(home, ["worker", "register", "box2", "gpu-box", "--remote-home", remoteHome()])
      expect(second.code, second.stderr).toBe(0)
      expect(as(home, ["worker", "default", "box2"]).code).toBe(0)
      const list = json<Array<{ name: string; isDefault: boolean }>>(as(home, ["worker", "ls", "--json"]))
      expect(list.map((w) => [w.name, w.isDefault])).toEqual([
        ["box", false],
        ["box2", true]
      ])
      expect(as(home, ["worker", "rm", "box2"]).code).toBe(0)
      expect(json<Array<{ name: string; isDefault: boolean }>>(as(home, ["worker", "ls", "--json"]))).toMatchObject([
        { name: "box", isDefault: true }
      ])
      const bad = as(home, ["worker", "add", "x", "not a host"])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/^Cannot add worker "x": "not a host" is not user@host/)
    } finally {
      Fs.rmSync(Path.join(server!.clientHome, ".ssh", "config"), { force: true })
    }
  })

  it("reports an unreachable worker in ls --check instead of failing", async () => {
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()]).code).toBe(
      0
    )
    server!.stop()
    try {
      const r = as(home, ["worker", "ls", "--check"])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/w\s+root@127\.0\.0\.1:\d+\s+yes\s+no: /)
    } finally {
      await server!.start()
    }
  })
})

describe.skipIf(!can && !inCi)("host keys, checked as OpenSSH checks them", () => {
  /** A server that has an ed25519 and an ECDSA host key, and shows only its ECDSA one; and its client's files. */
  let ecdsa: Sshd.Sshd | undefined
  beforeAll(async () => {
    ecdsa = await Sshd.start({ present: "ecdsa" })
  })
  afterAll(() => ecdsa?.stop())
  const files = () => {
    const knownHosts = Path.join(ecdsa!.clientHome, ".ssh", "known_hosts")
    const name = `[127.0.0.1]:${ecdsa!.port}`
    // asynchronous: a connection can take seconds on a loaded machine, and the test runner needs its event loop
    const run = (home: string, args: ReadonlyArray<string>) =>
      jobsAsync(args, { home, env: { HOME: ecdsa!.clientHome, SSH_AUTH_SOCK: undefined } })
    const add = (home: string, ...flags: Array<string>) =>
      run(home, ["worker", "add", "w", `root@127.0.0.1:${ecdsa!.port}`, "--remote-home", remoteHome(), ...flags])
    return { knownHosts, name, run, add }
  }
  const workers = (home: string) => json<Array<{ name: string }>>(as(home, ["worker", "ls", "--json"]))

  it("a host known by its ed25519 key that shows an ECDSA key has CHANGED: refused, naming the file and line", async () => {
    const { knownHosts, name, run, add } = files()
    const before = `# the worker\n${name} ${ecdsa!.hostKeys.ed25519}\n`
    Fs.writeFileSync(knownHosts, before)
    for (const flags of [[], ["--accept-new-host-key"]]) {
      const home = tmp.home()
      const r = await add(home, ...flags)
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(
        new RegExp(
          `^Cannot add worker "w": the host key of \\[127\\.0\\.0\\.1\\]:${ecdsa!.port} has CHANGED: it presents an ` +
            "ecdsa-sha2-nistp256 key SHA256:\\S+ that is not the one recorded in ~/\\.ssh/known_hosts:2 \\(ssh-ed25519\\)"
        )
      )
      expect(workers(home)).toEqual([])
      // nothing was recorded: the ECDSA key is not taken for a new one
      expect(Fs.readFileSync(knownHosts, "utf8")).toBe(before)
    }
    // a registered worker whose recorded key no longer matches: the job does not start there
    Fs.writeFileSync(knownHosts, `${name} ${ecdsa!.hostKeys.ecdsa}\n`)
    const home = tmp.home()
    expect((await add(home)).code).toBe(0)
    Fs.writeFileSync(knownHosts, before)
    const started = await run(home, ["run", "--on", "w", "-n", "--", "true"])
    expect(started.code).toBe(1)
    expect(started.stderr).toMatch(
      /^Cannot start job "\w+": the host key of \S+ has CHANGED: .*known_hosts:2 \(ssh-ed25519\)/
    )
  })

  it("a key marked @revoked is refused, even when a line lists it and with --accept-new-host-key", async () => {
    const { knownHosts, name, add } = files()
    for (const text of [
      `${name} ${ecdsa!.hostKeys.ecdsa}\n@revoked * ${ecdsa!.hostKeys.ecdsa}\n`,
      `other.example ${ecdsa!.hostKeys.ed25519}\n@revoked ${name} ${ecdsa!.hostKeys.ecdsa} was stolen\n`
    ]) {
      Fs.writeFileSync(knownHosts, text)
      const home = tmp.home()
      const r = await add(home, "--accept-new-host-key")
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        /^Cannot add worker "w": the host key of \S+ \(ecdsa-sha2-nistp256 key SHA256:\S+\) is REVOKED: it is marked @revoked in ~\/\.ssh\/known_hosts:2\n$/
      )
      expect(workers(home)).toEqual([])
      expect(Fs.readFileSync(knownHosts, "utf8")).toBe(text)
    }
  })

  it("accepts its key recorded under [127.0.0.1]:PORT, among other names, hashed, or in known_hosts2", async () => {
    const { knownHosts, name, add } = files()
    const key = ecdsa!.hostKeys.ecdsa
    const cases = [
      [knownHosts, `${name} ${key}\n`],
      [knownHosts, `gpu-box,${name},!evil.example ${key} a comment\n`],
      [knownHosts, `[127.0.0.*]:${ecdsa!.port} ${key}\n`],
      [`${knownHosts}2`, `${name} ${key}\n`]
    ] as const
    for (const [file, text] of cases) {
      Fs.rmSync(knownHosts, { force: true })
      Fs.rmSync(`${knownHosts}2`, { force: true })
      Fs.writeFileSync(file, text)
      const r = await add(tmp.home())
      expect(r.code, `${text}: ${r.stderr}`).toBe(0)
    }
    Fs.rmSync(`${knownHosts}2`, { force: true })
    Fs.writeFileSync(knownHosts, `# hashed by ssh-keygen -H\n${name} ${key}\n`)
    ChildProcess.execFileSync("ssh-keygen", ["-H", "-f", knownHosts], { stdio: "ignore" })
    expect(Fs.readFileSync(knownHosts, "utf8")).toMatch(/^\|1\|/m)
    expect((await add(tmp.home())).code).toBe(0)
  })

  it("a host with two keys, known by one of them, shows that one: accepted", async () => {
    // the main test server has both keys and shows either; the client asks for the type it knows first
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKeys.ecdsa}\n`)
    const r = await jobsAsync(["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()], {
      home,
      env: { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    })
    expect(r.code, r.stderr).toBe(0)
  })

  it("records a new key as OpenSSH would: appended whole after the last line, found by ssh-keygen -F, 0600", async () => {
    const { knownHosts, name, add } = files()
    Fs.rmSync(knownHosts, { force: true })
    const first = await add(tmp.home(), "--accept-new-host-key")
    expect(first.code, first.stderr).toBe(0)
    expect(Fs.statSync(knownHosts).mode & 0o777).toBe(0o600)
    expect(recorded(knownHosts, name)).toEqual([ecdsa!.hostKeys.ecdsa])
    // a file whose last line has no newline: the new line does not glue onto it
    Fs.writeFileSync(knownHosts, `other.example ${ecdsa!.hostKeys.ed25519}`)
    expect((await add(tmp.home(), "--accept-new-host-key")).code).toBe(0)
    expect(recorded(knownHosts, "other.example")).toEqual([ecdsa!.hostKeys.ed25519])
    expect(recorded(knownHosts, name)).toEqual([ecdsa!.hostKeys.ecdsa])
  })
})

describe.skipIf(!can && !inCi)("connection failures say what they are", () => {
  const closedPort = () =>
    new Promise<number>((resolve) => {
      const s = Net.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as Net.AddressInfo).port
        s.close(() => resolve(port))
      })
    })

  it("connection refused, no such host, and a timeout: the right words, exit 1, never the host key", async () => {
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    const port = await closedPort()
    const client = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    const refused = await jobsAsync(["worker", "add", "w", `root@127.0.0.1:${port}`], { home: tmp.home(), env: client })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(
      `Cannot add worker "w": connection refused by [127.0.0.1]:${port} (is sshd listening on port ${port} there?)\n`
    )
    const dns = await jobsAsync(["worker", "add", "w", "root@worker.invalid"], { home: tmp.home(), env: client })
    expect(dns.code).toBe(1)
    expect(dns.stderr).toBe(`Cannot add worker "w": no such host "worker.invalid" (its name does not resolve)\n`)

    // a listener that never says a word: the SSH handshake times out
    const silent = Net.createServer(() => {}).listen(0, "127.0.0.1")
    await new Promise((r) => silent.once("listening", r))
    try {
      const port = (silent.address() as Net.AddressInfo).port
      const r = await jobsAsync(["worker", "add", "w", `root@127.0.0.1:${port}`], { home: tmp.home(), env: client })
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(
        `Cannot add worker "w": timed out after 10s waiting for the SSH handshake with [127.0.0.1]:${port}\n`
      )
    } finally {
      silent.close()
    }

    // a registered worker (its key recorded) whose sshd is down: the job says so
    const { home, env } = withWorker()
    server!.stop()
    try {
      const r = await jobsAsync(["run", "--on", "w", "-n", "--", "true"], { home, env })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        new RegExp(`^Cannot start job "\\w+": connection refused by \\[127\\.0\\.0\\.1\\]:${server!.port} `)
      )
    } finally {
      await server!.start()
    }
  })
})

describe.skipIf(!can && !inCi)("jobs run --on", () => {
  it("pushes the cwd (.gitignore honoured, .git included), runs there, and mirrors events and output home", () => {
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()]).code).toBe(
      0
    )
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "a.txt"), "hello from a\n")
    Fs.writeFileSync(Path.join(project, "ignored.txt"), "secret\n")
    Fs.writeFileSync(Path.join(project, ".gitignore"), "ignored.txt\n")
    Fs.mkdirSync(Path.join(project, ".git"))
    Fs.writeFileSync(Path.join(project, ".git", "HEAD"), "ref: refs/heads/main\n")
    const script = 'ls -a; cat a.txt; echo "K=$K LOCAL=${LOCAL_ONLY:-unset}"; exit 3'
    const r = jobs(["run", "--on", "w", "--env", "K=v1", "--json", "--", "sh", "-c", script], {
      home,
      cwd: project,
      env: { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined, LOCAL_ONLY: "leak" }
    })
    expect(r.code, r.stderr).toBe(0)
    const job = json<{ id: string; worker: string; executor: string }>(r)
    expect(job).toMatchObject({ worker: "w", executor: "ssh" })
    const wait = as(home, ["wait", job.id, "--timeout", "60s"])
    expect(wait.code, wait.stderr).toBe(3)
    const out = as(home, ["logs", job.id]).stdout
    expect(out).toContain("a.txt")
    expect(out).toContain(".git")
    expect(out).not.toContain("ignored.txt")
    expect(out).toContain("hello from a")
    expect(out).toContain("K=v1 LOCAL=unset")
    const status = json<{ status: string; exitCode: number; worker: string }>(as(home, ["status", job.id, "--json"]))
    expect(status).toMatchObject({ status: "failed", exitCode: 3, worker: "w" })
    // the remote events were mirrored once each
    const types = as(home, ["events", job.id])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l).type)
    expect(types.filter((t) => t === "Started")).toHaveLength(1)
    expect(types.filter((t) => t === "Exited")).toHaveLength(1)
    expect(as(home, ["list", "--all"]).stdout).toMatch(/WORKER[\s\S]*\bw\b/)
  })
})

describe.skipIf(!can && !inCi)("remote jobs", () => {
  it("stops a remote job's process group, and says unknown while the worker is unreachable, then reconciles", async () => {
    const { home, worker, env } = withWorker()
    const go = Path.join(tmp.dir(), "go")
    const long = json<{ id: string }>(
      jobs(["run", "--on", "w", "-n", "--json", "--", "sh", "-c", "sleep 300 & sleep 300"], { home, env })
    )
    const running = () => json<{ status: string }>(as(home, ["status", long.id, "--json"])).status
    for (let i = 0; i < 100 && running() !== "running"; i++) await new Promise((r) => setTimeout(r, 100))
    expect(running()).toBe("running")
    const stop = as(home, ["stop", long.id, "--grace", "1s"])
    expect(stop.code, stop.stderr).toBe(0)
    expect(running()).toBe("stopped")

    // a job that ends while the worker cannot be reached: unknown meanwhile, its real exit code afterwards
    const short = json<{ id: string }>(
      jobs(
        ["run", "--on", "w", "-n", "--json", "--", "sh", "-c", `while [ ! -f '${go}' ]; do sleep 0.1; done; exit 5`],
        {
          home,
          env
        }
      )
    )
    const state = () => json<{ status: string; exitCode: number | null }>(as(home, ["status", short.id, "--json"]))
    for (let i = 0; i < 100 && state().status !== "running"; i++) await new Promise((r) => setTimeout(r, 100))
    expect(state().status).toBe("running")
    // the worker goes away: nothing listens, and open connections (a shared one included) are cut
    server!.dropConnections()
    server!.stop()
    try {
      expect(state().status).toBe("unknown")
      // the job ends meanwhile (the worker is this machine: its end is in the worker's own log)
      Fs.writeFileSync(go, "")
      const remoteLog = Path.join(worker, "jobs", short.id, "events.jsonl")
      await eventually(() => (Fs.readFileSync(remoteLog, "utf8").includes('"type":"Exited"') ? true : undefined))
      expect(state().status).toBe("unknown")
    } finally {
      await server!.start()
    }
    expect(state()).toMatchObject({ status: "failed", exitCode: 5 })
  })
})

describe.skipIf(!can && !inCi)("a shared connection", () => {
  it("serves the commands that follow the first one, from a private socket, and goes with its connection", async () => {
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()]).code).toBe(
      0
    )
    server!.dropConnections()
    const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    const job = json<{ id: string }>(jobs(["run", "--on", "w", "-n", "--json", "--", "sleep", "60"], { home, env }))
    const run = Path.join(home, "run")
    const socket = await eventually(
      () => (Fs.existsSync(run) ? Fs.readdirSync(run).find((f) => f.endsWith(".sock")) : undefined),
      15_000,
      "the socket"
    )
    expect(Fs.statSync(run).mode & 0o777).toBe(0o700)
    expect(Fs.statSync(Path.join(run, socket)).mode & 0o077).toBe(0)
    await eventually(() => (server!.connections() === 1 ? true : undefined), 15_000, "only the shared connection")
    for (let i = 0; i < 3; i++)
      expect(json<{ status: string }>(as(home, ["status", job.id, "--json"])).status).toBe("running")
    // no connection of their own: the three commands went through the shared one
    expect(server!.connections()).toBe(1)
    // its connection cut, the holder leaves and takes its socket along; the next command connects anew
    server!.dropConnections()
    await eventually(() => (Fs.readdirSync(run).length === 0 ? true : undefined), 15_000, "the socket removed")
    expect(json<{ status: string }>(as(home, ["status", job.id, "--json"])).status).toBe("running")
    expect(as(home, ["stop", job.id]).code).toBe(0)
  })
})

describe.skipIf(!can && !inCi)("following a remote job", () => {
  it("streams logs -f over one connection and resumes after it is cut, no line lost or repeated", async () => {
    const { home, worker, env } = withWorker()
    const job = json<{ id: string }>(
      jobs(
        [
          "run",
          "--on",
          "w",
          "-n",
          "--json",
          "--",
          "sh",
          "-c",
          "for i in $(seq 1 80); do echo line $i; sleep 0.05; done"
        ],
        {
          home,
          env
        }
      )
    )
    const following = jobsAsync(["logs", "-f", job.id], { home, env })
    // cut the connection twice while the job writes
    await new Promise((r) => setTimeout(r, 1500))
    expect(server!.dropConnections()).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 1000))
    server!.dropConnections()
    const r = await following
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.replaceAll("\r", "").trim().split("\n")
    expect(lines).toEqual(Array.from({ length: 80 }, (_, i) => `line ${i + 1}`))
    // the local copy is the same, byte for byte, as the worker's
    const remote = Fs.readFileSync(Path.join(worker, "jobs", job.id, "output.log"))
    expect(Fs.readFileSync(Path.join(home, "jobs", job.id, "output.log")).equals(remote)).toBe(true)
    const types = as(home, ["events", job.id])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l).type)
    expect(types.filter((t) => t === "Exited")).toHaveLength(1)
  })
})

describe.skipIf(!can && !inCi)("attaching to a remote job", () => {
  it("attaches over SSH with a PTY, follows window size, detaches with C-b d, and ends at the done screen", async () => {
    const { home, worker, env } = withWorker()
    const go = Path.join(tmp.dir(), "go")
    const job = json<{ id: string; shortId: string }>(
      jobs(
        [
          "run",
          "--on",
          "w",
          "-n",
          "--json",
          "--",
          "sh",
          "-c",
          `i=0; while [ ! -f '${go}' ]; do echo "tick $i"; i=$((i+1)); sleep 0.2; done; echo finished`
        ],
        { home, env }
      )
    )
    const term = terms.open(home)
    await term.waitFor(/^\$/m, "the shell prompt")
    const attach = `HOME='${server!.clientHome}' SSH_AUTH_SOCK= node -- '${BIN}' attach ${job.shortId}`
    term.type(attach)
    term.key("Enter")
    await term.waitFor(/tick \d+/, "live output in the attached terminal")
    // the remote session follows this terminal's size
    const remoteWidth = () =>
      ChildProcess.spawnSync(
        "tmux",
        ["-S", Path.join(worker, "tmux.sock"), "display", "-p", "-t", `=jobs-${job.shortId}:`, "#{window_width}"],
        { encoding: "utf8" }
      ).stdout.trim()
    await eventually(() => (remoteWidth() === "160" ? true : undefined), 10_000, "the remote window at 160 columns")
    term.resize(120, 30)
    await eventually(() => (remoteWidth() === "120" ? true : undefined), 10_000, "the remote window at 120 columns")
    term.key("C-b")
    term.key("d")
    await term.waitFor(new RegExp(`${job.shortId} running \\(detached`), "the summary after detaching")
    expect(json<{ status: string }>(as(home, ["status", job.id, "--json"])).status).toBe("running")
    term.type(attach)
    term.key("Enter")
    await term.waitFor(/tick \d+/, "live output after re-attaching")
    Fs.writeFileSync(go, "")
    await term.waitFor(/--- Job done \[exit 0\]\. Press any key to detach\. ---/, "the done screen")
    term.key("x")
    await term.waitFor(new RegExp(`${job.shortId} completed \\[0\\]`), "the summary after the session ended")
    expect(as(home, ["logs", job.id]).stdout).toContain("finished")
  })
})

describe.skipIf(!can && !inCi)("removing a remote job", () => {
  it("deletes its work dir on the worker with --yes or after asking; without a terminal it names the flag", async () => {
    const { home, worker, env } = withWorker()
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "data.txt"), "x\n")
    const submit = () => {
      const job = json<{ id: string; shortId: string }>(
        jobs(["run", "--on", "w", "--json", "--", "true"], { home, env, cwd: project })
      )
      expect(as(home, ["wait", job.id, "--timeout", "60s"]).code).toBe(0)
      return job
    }
    const remoteDirs = (id: string) =>
      [Path.join(worker, "jobs", id), Path.join(worker, "workdirs", id)].filter((d) => Fs.existsSync(d))
    const a = submit()
    expect(remoteDirs(a.id)).toHaveLength(2)
    const refused = as(home, ["rm", a.id])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      `Cannot remove job "${a.shortId}": it has a work dir on worker "w"; pass --yes to delete it there too, or --keep-remote to remove it here only\n`
    )
    expect(remoteDirs(a.id)).toHaveLength(2)
    expect(Fs.existsSync(Path.join(home, "jobs", a.id))).toBe(true)
    // clean leaves remote jobs alone unless told
    expect(as(home, ["clean", "--all"]).stderr).toContain("kept 1 remote job")
    expect(Fs.existsSync(Path.join(home, "jobs", a.id))).toBe(true)
    const removed = as(home, ["rm", "--yes", a.id])
    expect(removed.code, removed.stderr).toBe(0)
    expect(remoteDirs(a.id)).toEqual([])
    expect(Fs.existsSync(Path.join(home, "jobs", a.id))).toBe(false)

    const b = submit()
    expect(as(home, ["rm", "--keep-remote", b.id]).code).toBe(0)
    expect(remoteDirs(b.id)).toHaveLength(2)
    expect(Fs.existsSync(Path.join(home, "jobs", b.id))).toBe(false)

    // on a terminal it asks
    const c = submit()
    const term = terms.open(home)
    await term.waitFor(/^\$/m, "the shell prompt")
    term.type(`HOME='${server!.clientHome}' SSH_AUTH_SOCK= node -- '${BIN}' rm ${c.shortId}`)
    term.key("Enter")
    await term.waitFor(/Delete it there too\? \[y\/N\]/, "the question")
    term.type("y")
    term.key("Enter")
    await term.waitFor(new RegExp(`removed ${c.shortId}`), "the removal")
    expect(remoteDirs(c.id)).toEqual([])
  })
})

describe.skipIf(!can && !inCi)("pushes", () => {
  it("shows how a push goes on a terminal, and clears the line at the end", () => {
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()]).code).toBe(
      0
    )
    const project = tmp.dir()
    for (let i = 0; i < 8; i++) Fs.writeFileSync(Path.join(project, `f${i}.bin`), Crypto.randomBytes(1 << 20))
    // `script` gives the command a terminal and keeps every byte written to it, redrawn lines included
    const r = ChildProcess.spawnSync("script", ["-qec", `node -- '${BIN}' run --on w -- true`, "/dev/null"], {
      cwd: project,
      encoding: "utf8",
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: "",
        JOBS_HOME: home,
        HOME: server!.clientHome,
        SSH_AUTH_SOCK: "",
        JOBS_PUSH_PROGRESS_AFTER_MS: "0"
      }
    })
    expect(r.status, r.stdout).toBe(0)
    expect(r.stdout).toMatch(/\r\x1b\[Kpushing: \d+% of the files' bytes/)
    // the progress line is cleared before the job's id is printed
    expect(r.stdout).toMatch(/\r\x1b\[K[0-9a-z]{8}\r?\n/)
  })

  it("sends almost nothing on a second push of an unchanged 2,000-file tree", () => {
    const home = tmp.home()
    Fs.writeFileSync(knownHosts(), `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`)
    expect(as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()]).code).toBe(
      0
    )
    const project = tmp.dir()
    for (let d = 0; d < 20; d++) {
      Fs.mkdirSync(Path.join(project, `d${d}`))
      for (let f = 0; f < 100; f++)
        Fs.writeFileSync(Path.join(project, `d${d}`, `f${f}.txt`), `file ${d}/${f} `.repeat(40))
    }
    const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
    const push = () => {
      const r = jobs(["run", "--on", "w", "--json", "--", "sh", "-c", "find . -type f | wc -l"], {
        home,
        cwd: project,
        env
      })
      expect(r.code, r.stderr).toBe(0)
      const { id } = json<{ id: string }>(r)
      expect(as(home, ["wait", id, "--timeout", "60s"]).code).toBe(0)
      expect(as(home, ["logs", id]).stdout.trim()).toBe("2000")
      const synced = as(home, ["events", id])
        .stdout.trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .find((e) => e.type === "Synced")
      return synced as { bytesSent: number; files: number }
    }
    const first = push()
    const second = push()
    expect(first.bytesSent).toBeGreaterThan(500_000)
    expect(second.bytesSent).toBeLessThan(first.bytesSent / 10)
  })
})

describe.skipIf(!can && !inCi)("jobs pull", () => {
  it("copies results back, with ./results and results alike, and refuses paths outside the work dir", () => {
    const { home, env } = withWorker()
    const r = jobs(
      ["run", "--on", "w", "-n", "--json", "--", "sh", "-c", "mkdir results && echo 42 > results/answer.txt"],
      { home, env }
    )
    const { id } = json<{ id: string }>(r)
    expect(as(home, ["wait", id, "--timeout", "60s"]).code).toBe(0)
    for (const path of ["./results", "results", "results/"]) {
      const dest = tmp.dir()
      const pulled = as(home, ["pull", id, path, dest])
      expect(pulled.code, pulled.stderr).toBe(0)
      expect(Fs.readFileSync(Path.join(dest, "results", "answer.txt"), "utf8")).toBe("42\n")
    }
    const outside = as(home, ["pull", id, "../../etc", tmp.dir()])
    expect(outside.code).toBe(2)
    expect(outside.stderr).toMatch(/^Cannot pull "\.\.\/\.\.\/etc": give a path inside the job's work dir/)
    const local = json<{ id: string }>(jobs(["run", "--json", "--", "true"], { home }))
    expect(as(home, ["pull", local.id]).stderr).toMatch(/it ran on this machine/)
  })
})

describe.skipIf(!can && !inCi)("two workers", () => {
  it("runs jobs on both and lists each with its worker", async () => {
    const second = await Sshd.start()
    try {
      const home = tmp.home()
      // the second server's client identity must be accepted by the first's client HOME: authorize it there too
      Fs.appendFileSync(
        Path.join(second.dir, "authorized_keys"),
        Fs.readFileSync(Path.join(server!.clientHome, ".ssh", "id_ed25519.pub"))
      )
      Fs.writeFileSync(
        knownHosts(),
        `[127.0.0.1]:${server!.port} ${server!.hostKey}\n[127.0.0.1]:${second.port} ${second.hostKey}\n`
      )
      expect(
        as(home, ["worker", "add", "one", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome()]).code
      ).toBe(0)
      expect(
        as(home, ["worker", "add", "two", `root@127.0.0.1:${second.port}`, "--remote-home", remoteHome()]).code
      ).toBe(0)
      const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
      const a = json<{ id: string }>(
        jobs(["run", "--on", "one", "-n", "--json", "--", "echo", "on one"], { home, env })
      )
      const b = json<{ id: string }>(
        jobs(["run", "--on", "two", "-n", "--json", "--", "echo", "on two"], { home, env })
      )
      for (const j of [a, b]) expect(as(home, ["wait", j.id, "--timeout", "60s"]).code).toBe(0)
      expect(as(home, ["logs", a.id]).stdout.trim()).toBe("on one")
      expect(as(home, ["logs", b.id]).stdout.trim()).toBe("on two")
      const list = json<Array<{ id: string; worker: string }>>(as(home, ["list", "--all", "--json"]))
      expect(Object.fromEntries(list.map((j) => [j.id, j.worker]))).toEqual({ [a.id]: "one", [b.id]: "two" })
    } finally {
      second.stop()
    }
  })
})

describe("jobs run --on, refused", () => {
  it("names a worker that is not registered, and nothing is written", () => {
    const home = tmp.home()
    const named = jobs(["run", "--on", "nope", "--", "true"], { home })
    expect(named.code).toBe(2)
    expect(named.stderr).toBe('Cannot run on worker "nope": no worker has this name (jobs worker ls)\n')
    const none = jobs(["run", "--on", "--", "true"], { home })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^Cannot run on a worker: none is registered/)
    // a push of the temp folder (or / or the home folder) is refused: almost never meant, and possibly endless
    Fs.mkdirSync(home, { recursive: true })
    Fs.writeFileSync(
      Path.join(home, "workers.yaml"),
      '- name: "w"\n  connection: "root@127.0.0.1:1"\n  default: "true"\n'
    )
    const broad = jobs(["run", "--on", "--", "true"], { home, cwd: Os.tmpdir() })
    expect(broad.code).toBe(2)
    expect(broad.stderr).toBe(
      `Cannot push ${Os.tmpdir()} (the temp folder) to the worker: cd into a project folder, or pass -n to push nothing\n`
    )
    expect(Fs.existsSync(Path.join(home, "jobs"))).toBe(false)
    expect(Fs.existsSync(Path.join(home, "jobs"))).toBe(false)
  })
})
