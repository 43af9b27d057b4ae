// Downloads land inside their destination whatever links the remote side made: against a real sshd on loopback,
// a job leaves links to a folder outside and to /etc/passwd in its work dir; `jobs pull` never writes through them
// and leaves no local link that leads out of the destination.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { jobs, json, type Result } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi) console.warn("SKIPPING download link tests: install openssh-server (apt-get install openssh-server)")
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

/** Every link under `dir`, with where it resolves (undefined: dangling). */
const links = (dir: string): Array<[string, string | undefined]> =>
  Fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((p) => Path.join(dir, p))
    .filter((p) => Fs.lstatSync(p).isSymbolicLink())
    .map((p) => {
      try {
        return [p, Fs.realpathSync(p)]
      } catch {
        return [p, undefined]
      }
    })

const insideOf = (dir: string) => (path: string | undefined) =>
  path !== undefined && (path === Fs.realpathSync(dir) || path.startsWith(`${Fs.realpathSync(dir)}/`))

describe.skipIf(!can && !inCi)("downloads and the remote side's links", () => {
  it("jobs pull never writes through a link the job made, and creates no link that leaves the destination", () => {
    const home = tmp.home()
    Fs.writeFileSync(
      Path.join(server!.clientHome, ".ssh", "known_hosts"),
      `[127.0.0.1]:${server!.port} ${server!.hostKey}\n`
    )
    const remoteHome = Path.join(tmp.dir(), "remote-home")
    const added = as(home, ["worker", "add", "w", `root@127.0.0.1:${server!.port}`, "--remote-home", remoteHome])
    expect(added.code, added.stderr).toBe(0)
    const outside = tmp.dir()
    const script = [
      "mkdir -p a/real && echo in > a/real/f",
      "ln -s real a/ok",
      `ln -s ${outside} a/b`,
      "ln -s /etc/passwd a/b2",
      "ln -s ../.. a/up",
      "ln -s ok/../.. a/up2",
      "ln -s . a/dot && ln -s dot/.. a/sneaky",
      `ln -s ${outside} c`
    ].join(" && ")
    const { id } = json<{ id: string }>(as(home, ["run", "--on", "w", "-n", "--json", "--", "sh", "-c", script]))
    expect(as(home, ["wait", id, "--timeout", "60s"]).code).toBe(0)

    // the folder: its real content and the link that stays inside it; the others are left behind
    const first = tmp.dir()
    const pulled = as(home, ["pull", id, "a", `${first}/`])
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(Fs.readFileSync(Path.join(first, "a", "ok", "f"), "utf8")).toBe("in\n")
    for (const name of ["b", "b2", "up", "up2", "sneaky"])
      expect(Fs.existsSync(Path.join(first, "a", name)) || links(first).some(([p]) => p.endsWith(`/${name}`))).toBe(
        false
      )
    for (const [link, to] of links(first)) expect(insideOf(first)(to), `${link} -> ${to}`).toBe(true)

    // a path that is itself a link leading out: one line says so, nothing is created
    const second = tmp.dir()
    const refused = as(home, ["pull", id, "c", `${second}/`])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr.trim().split("\n")).toHaveLength(1)
    expect(refused.stderr).toMatch(/^Cannot pull "c" from job "[^"]+": .*symbolic link/)
    expect(Fs.readdirSync(second)).toEqual([])

    // the remote side then makes c a folder: a/b-style second download goes into the destination, not the link
    const workdir = Path.join(remoteHome, "workdirs", id)
    Fs.rmSync(Path.join(workdir, "c"))
    Fs.mkdirSync(Path.join(workdir, "c", "b"), { recursive: true })
    Fs.writeFileSync(Path.join(workdir, "c", "b", "evil"), "pwned\n")
    const again = as(home, ["pull", id, "c/b", `${second}/c/`])
    expect(again.code, again.stderr).toBe(0)
    expect(Fs.readFileSync(Path.join(second, "c", "b", "evil"), "utf8")).toBe("pwned\n")
    expect(Fs.lstatSync(Path.join(second, "c")).isDirectory()).toBe(true)

    // the whole work dir: the same safe subset
    const third = tmp.dir()
    const all = as(home, ["pull", id, ".", `${third}/`])
    expect(all.code, all.stderr).toBe(0)
    expect(Fs.readFileSync(Path.join(third, "a", "real", "f"), "utf8")).toBe("in\n")
    for (const [link, to] of links(third)) expect(insideOf(third)(to), `${link} -> ${to}`).toBe(true)

    expect(Fs.readdirSync(outside)).toEqual([])
    for (const dir of [first, second, third])
      expect(
        Fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((p) => p.includes(".jobs-download-"))
      ).toEqual([])
  })
})
