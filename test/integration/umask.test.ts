// The umask a job runs under (issue 15 §4): the command gets the umask of the shell that submitted it (recorded in
// Submitted, restored by the supervisor right before exec), on this machine and under tmux; a job on an SSH worker
// gets the worker login's. The home's own files stay private whatever the umask: the home and job folders 0700,
// events.jsonl, env and output.log 0600.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, eventually, type Result } from "../support/cli.ts"
import { readEvents, scratch } from "../support/job_files.ts"
import * as Slurm from "../support/slurm.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const hasTmux = ChildProcess.spawnSync("tmux", ["-V"]).status === 0
if (!hasTmux && !inCi) console.warn("SKIPPING umask tests under tmux: tmux is not installed (apt-get install tmux)")
const hasSshd = Sshd.available()
if (!hasSshd && !inCi) console.warn("SKIPPING umask tests on a worker: install openssh-server")
const hasSlurm = Slurm.available()
if (!hasSlurm && !inCi) console.warn(`SKIPPING umask tests under Slurm: ${Slurm.missing()}`)
const sockets: Array<string> = []
let server: Sshd.Sshd | undefined

beforeAll(async () => {
  // the worker's logins get 0027, unlike the submitting shells below
  if (hasSshd || inCi) server = await Sshd.start({ umask: "0027" })
  if (hasSlurm || inCi) await Slurm.ensure()
}, 120_000)
afterAll(() => {
  for (const socket of sockets) ChildProcess.spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore" })
  server?.stop()
  tmp.cleanup()
})

/** `jobs ARGS...` run from a shell whose umask is `mask`, as a user's would be. */
const under = (
  mask: string,
  args: ReadonlyArray<string>,
  options: { home: string; cwd: string; env?: Record<string, string | undefined>; input?: string }
): Result => {
  const env: NodeJS.ProcessEnv = { ...process.env, JOBS_HOME: options.home, ...options.env }
  delete env.NODE_EXTRA_CA_CERTS
  for (const [k, v] of Object.entries(options.env ?? {})) if (v === undefined) delete env[k]
  const r = ChildProcess.spawnSync(
    "/bin/sh",
    ["-c", 'umask "$0" && exec "$@"', mask, process.execPath, "--", BIN, ...args],
    { cwd: options.cwd, env, encoding: "utf8", input: options.input ?? "" }
  )
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr }
}

const mode = (path: string) => Fs.statSync(path).mode & 0o777
const octal = (path: string) => `0${mode(path).toString(8)}`

/** The job writes a file and makes a folder in its cwd (and its hook one more file). */
const make = ["sh", "-c", "echo x > made.txt && mkdir made.d && echo made"]

/** The home's own files and folders, whatever the umask: private. */
const expectPrivate = (home: string, id: string) => {
  const dir = Path.join(home, "jobs", id)
  expect(octal(home)).toBe("0700")
  expect(octal(Path.join(home, "jobs"))).toBe("0700")
  expect(octal(dir)).toBe("0700")
  for (const file of ["events.jsonl", "env", "output.log"]) expect(octal(Path.join(dir, file)), file).toBe("0600")
}

const submitted = (home: string, id: string) => readEvents(home, id).find((e) => e.type === "Submitted")

describe("a local job's umask", () => {
  for (const [mask, file, dir] of [
    ["0022", "0644", "0755"],
    ["0027", "0640", "0750"]
  ] as const) {
    it(`is the submitting shell's (${mask}): the job's files are ${file}, its folders ${dir}; the home's stay private`, async () => {
      const home = tmp.home()
      const cwd = tmp.dir()
      const r = under(mask, ["run", "--json", "--on-done", "touch hooked", "--", ...make], { home, cwd })
      expect(r.code, r.stderr).toBe(0)
      const id = JSON.parse(r.stdout).id as string
      expect(under(mask, ["wait", id], { home, cwd }).code).toBe(0)
      expect(octal(Path.join(cwd, "made.txt"))).toBe(file)
      expect(octal(Path.join(cwd, "made.d"))).toBe(dir)
      // the completion hook runs as the job does
      await eventually(() => (Fs.existsSync(Path.join(cwd, "hooked")) ? true : undefined))
      expect(octal(Path.join(cwd, "hooked"))).toBe(file)
      expect(submitted(home, id)?.spec.umask).toBe(mask)
      expectPrivate(home, id)

      // a retry from a shell with another umask runs as the first job did
      const again = under("0077", ["retry", "--json", id], { home, cwd })
      expect(again.code, again.stderr).toBe(0)
      const retried = JSON.parse(again.stdout).id as string
      Fs.rmSync(Path.join(cwd, "made.txt"))
      Fs.rmdirSync(Path.join(cwd, "made.d"))
      expect(under("0077", ["wait", retried], { home, cwd }).code).toBe(0)
      expect(octal(Path.join(cwd, "made.txt"))).toBe(file)
      expect(submitted(home, retried)?.spec.umask).toBe(mask)
    })
  }

  it("is the submitting shell's for every job of a batch (--each)", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const each = under("0022", ["run", "--each", "-", "--json"], {
      home,
      cwd,
      input: "echo a > a.txt\necho b > b.txt\n"
    })
    expect(each.code, each.stderr).toBe(0)
    const ids = (JSON.parse(each.stdout) as Array<{ id: string }>).map((j) => j.id)
    expect(under("0022", ["wait", ...ids], { home, cwd }).code).toBe(0)
    expect([octal(Path.join(cwd, "a.txt")), octal(Path.join(cwd, "b.txt"))]).toEqual(["0644", "0644"])
    for (const id of ids) expectPrivate(home, id)
  })
})

describe.skipIf(!hasTmux && !inCi)("a tmux job's umask", () => {
  it("is the submitting shell's, even when the home's tmux server was started under another", () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    sockets.push(Path.join(home, "tmux.sock"))
    // the first job starts the home's tmux server from a shell with umask 0077
    const first = under("0077", ["run", "--tmux", "--json", "--", "sh", "-c", "echo x > first.txt"], { home, cwd })
    expect(first.code, first.stderr).toBe(0)
    const firstId = JSON.parse(first.stdout).id as string
    expect(under("0077", ["wait", firstId], { home, cwd }).code).toBe(0)
    expect(octal(Path.join(cwd, "first.txt"))).toBe("0600")

    const r = under("0022", ["run", "--tmux", "--json", "--", ...make], { home, cwd })
    expect(r.code, r.stderr).toBe(0)
    const id = JSON.parse(r.stdout).id as string
    expect(under("0022", ["wait", id], { home, cwd }).code).toBe(0)
    expect(octal(Path.join(cwd, "made.txt"))).toBe("0644")
    expect(octal(Path.join(cwd, "made.d"))).toBe("0755")
    expectPrivate(home, id)
    for (const job of [firstId, id]) expect(under("0022", ["rm", job], { home, cwd }).code).toBe(0)
  })
})

/** A home with worker "w" on the test sshd (whose logins get 0027), its remote home, and the client's environment. */
const withWorker = () => {
  const home = tmp.home()
  const cwd = tmp.dir()
  const remote = Path.join(tmp.dir(), "remote-home")
  sockets.push(Path.join(remote, "tmux.sock"))
  const env = { HOME: server!.clientHome, SSH_AUTH_SOCK: undefined }
  Fs.writeFileSync(
    Path.join(server!.clientHome, ".ssh", "known_hosts"),
    `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
  )
  const added = under("0022", ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remote], {
    home,
    cwd,
    env
  })
  expect(added.code, added.stderr).toBe(0)
  return { home, cwd, remote, env }
}

describe.skipIf(!hasSshd && !inCi)("an SSH worker job's umask", () => {
  it("is the worker login's (0027 there, 0022 here); the worker's job files stay private", () => {
    const { home, cwd, remote, env } = withWorker()
    const r = under("0022", ["run", "--on", "w", "-n", "--json", "--", ...make], { home, cwd, env })
    expect(r.code, r.stderr).toBe(0)
    const id = JSON.parse(r.stdout).id as string
    expect(under("0022", ["wait", id], { home, cwd, env }).code).toBe(0)
    const workdir = Path.join(remote, "workdirs", id)
    expect(octal(Path.join(workdir, "made.txt"))).toBe("0640")
    expect(octal(Path.join(workdir, "made.d"))).toBe("0750")
    expectPrivate(remote, id)
    expectPrivate(home, id)
    expect(under("0022", ["rm", "--yes", id], { home, cwd, env }).code).toBe(0)
  })
})

describe.skipIf(!hasSlurm && !inCi)("a Slurm job's umask", () => {
  it("is the submitting shell's on this machine (0007)", async () => {
    const home = tmp.home()
    const cwd = tmp.dir()
    const r = under("0007", ["run", "--slurm", "--json", "--", ...make], { home, cwd })
    expect(r.code, r.stderr).toBe(0)
    const id = JSON.parse(r.stdout).id as string
    try {
      expect(under("0007", ["wait", id], { home, cwd }).code).toBe(0)
    } finally {
      under("0007", ["stop", id], { home, cwd })
    }
    expect(octal(Path.join(cwd, "made.txt"))).toBe("0660")
    expect(octal(Path.join(cwd, "made.d"))).toBe("0770")
    expectPrivate(home, id)
  })

  it.skipIf(!hasSshd && !inCi)("is the worker login's through a worker that is a login node (0027)", () => {
    const { home, cwd, remote, env } = withWorker()
    const r = under("0022", ["run", "--on", "w", "--slurm", "-n", "--json", "--", ...make], { home, cwd, env })
    expect(r.code, r.stderr).toBe(0)
    const id = JSON.parse(r.stdout).id as string
    try {
      expect(under("0022", ["wait", id], { home, cwd, env }).code).toBe(0)
    } finally {
      under("0022", ["stop", id], { home, cwd, env })
    }
    const workdir = Path.join(remote, "workdirs", id)
    expect(octal(Path.join(workdir, "made.txt"))).toBe("0640")
    expectPrivate(remote, id)
  })
})
