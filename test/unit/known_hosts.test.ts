// known_hosts read as OpenSSH reads it: markers, patterns, negations, hashed names, ports, the verdict on a key, and
// the host key algorithms offered first. Keys and hashed lines come from ssh-keygen itself where it is installed.
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as KnownHosts from "../../adapters/_known_hosts.ts"
import * as Ssh from "../../adapters/ssh.ts"
import { tempDir } from "../support/cli.ts"

/** A made-up public key blob of a type (the matching code never looks inside). */
const blob = (type: string, seed: string) => {
  const name = Buffer.from(type)
  const head = Buffer.alloc(4)
  head.writeUInt32BE(name.length)
  return Buffer.concat([head, name, Crypto.createHash("sha256").update(seed).digest()])
}
const ed = blob("ssh-ed25519", "a")
const ed2 = blob("ssh-ed25519", "b")
const ecdsa = blob("ecdsa-sha2-nistp256", "c")
const rsa = blob("ssh-rsa", "d")
const b64 = (k: Buffer) => k.toString("base64")
const F = "/home/u/.ssh/known_hosts"

describe("known_hosts parsing", () => {
  it("keeps entries with their line numbers and skips comments, blanks, unknown markers and bad keys", () => {
    const text = [
      "# a comment",
      "",
      `   host.example ssh-ed25519 ${b64(ed)} a comment at the end`,
      `@revoked * ssh-ed25519 ${b64(ed2)}`,
      `@cert-authority *.example ssh-ed25519 ${b64(ed2)}`,
      `@unknown host.example ssh-ed25519 ${b64(ed2)}`,
      `host.example ssh-rsa ${b64(ed)}`,
      "host.example ssh-ed25519 not!base64",
      "host.example 2048 65537 12345",
      `host.example\tecdsa-sha2-nistp256\t${b64(ecdsa)}\r`
    ].join("\n")
    const entries = KnownHosts.parse(text, F)
    expect(entries.map((e) => [e.line, e.marker, e.names, e.type])).toEqual([
      [3, "none", "host.example", "ssh-ed25519"],
      [4, "revoked", "*", "ssh-ed25519"],
      [5, "cert-authority", "*.example", "ssh-ed25519"],
      [10, "none", "host.example", "ecdsa-sha2-nistp256"]
    ])
    expect(entries[0]!.key.equals(ed)).toBe(true)
  })

  it("matches patterns as OpenSSH does: lists, *, ?, negation, case, [host]:port", () => {
    expect(KnownHosts.matchPatternList("a.example", "b.example,a.example")).toBe(true)
    expect(KnownHosts.matchPatternList("A.Example", "a.example")).toBe(true)
    expect(KnownHosts.matchPatternList("a.example", "*.example")).toBe(true)
    expect(KnownHosts.matchPatternList("a.example", "?.example")).toBe(true)
    expect(KnownHosts.matchPatternList("ab.example", "?.example")).toBe(false)
    expect(KnownHosts.matchPatternList("bad.example", "*.example,!bad.example")).toBe(false)
    expect(KnownHosts.matchPatternList("bad.example", "!bad.example,*.example")).toBe(false)
    expect(KnownHosts.matchPatternList("other", "!bad.example")).toBe(false)
    expect(KnownHosts.matchPatternList("[10.0.0.1]:2222", "[10.0.0.1]:2222")).toBe(true)
    expect(KnownHosts.matchPatternList("[10.0.0.1]:2222", "10.0.0.1")).toBe(false)
    expect(KnownHosts.matchPatternList("[10.0.0.1]:2222", "[10.0.0.*]:*")).toBe(true)
    expect(KnownHosts.matchPattern("aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*c")).toBe(false)
    expect(KnownHosts.lookupName("Host.Example", 22)).toBe("host.example")
    expect(KnownHosts.lookupName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222")
  })

  it("matches hashed names (HMAC-SHA1 of the name keyed with the salt), and only the name hashed", () => {
    const salt = Buffer.alloc(20, 7)
    const hashed = KnownHosts.hashName("[127.0.0.1]:2222", salt)
    expect(hashed).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28}$/)
    expect(KnownHosts.namesHost(hashed, "[127.0.0.1]:2222")).toBe(true)
    expect(KnownHosts.namesHost(hashed, "127.0.0.1")).toBe(false)
    expect(KnownHosts.namesHost("|1|bad|hash", "127.0.0.1")).toBe(false)
    expect(KnownHosts.namesHost("|2|x|y", "127.0.0.1")).toBe(false)
  })

  it.skipIf(!Fs.existsSync("/usr/bin/ssh-keygen"))(
    "reads what ssh-keygen -H writes, and writes what ssh-keygen -F finds",
    () => {
      const dir = tempDir("jobs-kh-")
      try {
        ChildProcess.execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", Path.join(dir, "k")])
        const key = Buffer.from(Fs.readFileSync(Path.join(dir, "k.pub"), "utf8").split(" ")[1]!, "base64")
        const file = Path.join(dir, "known_hosts")
        Fs.writeFileSync(file, `other ssh-ed25519 ${b64(ed)}\n[127.0.0.1]:2222 ecdsa-sha2-nistp256 ${b64(key)}\n`)
        ChildProcess.execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" })
        const entries = KnownHosts.parse(Fs.readFileSync(file, "utf8"), file)
        expect(entries.every((e) => e.names.startsWith("|1|"))).toBe(true)
        expect(KnownHosts.check(entries, "[127.0.0.1]:2222", key)).toMatchObject({ _tag: "known", entry: { line: 2 } })
        // ours, plain and hashed, as ssh-keygen -F (OpenSSH's own lookup) finds them
        for (const hashed of [false, true]) {
          Fs.writeFileSync(file, KnownHosts.formatLine("[127.0.0.1]:2222", key, hashed))
          const found = ChildProcess.spawnSync("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", file], {
            encoding: "utf8"
          })
          expect(found.status).toBe(0)
          expect(found.stdout).toContain(b64(key))
        }
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  )
})

describe("the verdict on a presented key", () => {
  const of = (lines: ReadonlyArray<string>) => KnownHosts.parse(lines.join("\n"), F)

  it("known when a plain entry for the host holds the key, unknown when none names the host", () => {
    const entries = of([`other ssh-ed25519 ${b64(ed2)}`, `h1,h2 ssh-ed25519 ${b64(ed)}`])
    expect(KnownHosts.check(entries, "h2", ed)).toMatchObject({ _tag: "known", entry: { line: 2 } })
    expect(KnownHosts.check(entries, "h3", ed)).toEqual({ _tag: "unknown" })
  })

  it("changed when the host is known under another key, of the same type or of any other", () => {
    const entries = of([`h ssh-ed25519 ${b64(ed)}`, "# rsa too", `h ssh-rsa ${b64(rsa)}`])
    const other = KnownHosts.check(entries, "h", ecdsa)
    expect(other._tag).toBe("changed")
    expect(other._tag === "changed" && other.recorded.map((e) => e.line)).toEqual([1, 3])
    expect(KnownHosts.check(entries, "h", ed2)._tag).toBe("changed")
    expect(KnownHosts.check(entries, "h", rsa)._tag).toBe("known")
  })

  it("revoked wins over an entry that lists the key; a revocation for another host does not apply", () => {
    const entries = of([
      `h ssh-ed25519 ${b64(ed)}`,
      `@revoked h ssh-ed25519 ${b64(ed)}`,
      `@revoked x ssh-rsa ${b64(rsa)}`
    ])
    expect(KnownHosts.check(entries, "h", ed)).toMatchObject({ _tag: "revoked", entry: { line: 2 } })
    expect(KnownHosts.check(of([`h ssh-rsa ${b64(rsa)}`, `@revoked x ssh-rsa ${b64(rsa)}`]), "h", rsa)._tag).toBe(
      "known"
    )
    expect(KnownHosts.check(of([`@revoked * ssh-rsa ${b64(rsa)}`]), "new", rsa)._tag).toBe("revoked")
  })

  it("ignores @cert-authority lines: they never make a plain key known, nor a host changed", () => {
    const entries = of([`@cert-authority h ssh-ed25519 ${b64(ed)}`])
    expect(KnownHosts.check(entries, "h", ed)).toEqual({ _tag: "unknown" })
    expect(KnownHosts.check(entries, "h", ecdsa)).toEqual({ _tag: "unknown" })
  })

  it("a negated pattern keeps a host out of a line", () => {
    const entries = of([`*,!evil ssh-ed25519 ${b64(ed)}`])
    expect(KnownHosts.check(entries, "good", ed)._tag).toBe("known")
    expect(KnownHosts.check(entries, "evil", ecdsa)).toEqual({ _tag: "unknown" })
  })
})

describe("the host key algorithms offered", () => {
  it("puts the types recorded for the host first, in the default order, and offers the rest after", () => {
    const entries = KnownHosts.parse(
      [`h ssh-rsa ${b64(rsa)}`, `h ecdsa-sha2-nistp256 ${b64(ecdsa)}`, `other ssh-ed25519 ${b64(ed)}`].join("\n"),
      F
    )
    expect(KnownHosts.preferredAlgorithms(entries, "h")).toEqual([
      "ecdsa-sha2-nistp256",
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
      "ssh-ed25519",
      "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521"
    ])
    expect(KnownHosts.preferredAlgorithms(entries, "unknown")).toEqual([...KnownHosts.defaultHostKeyAlgorithms])
  })
})

describe("which files, under which name", () => {
  const withHome = <A>(config: string, f: (home: string) => A): A => {
    const home = tempDir("jobs-kh-home-")
    const saved = process.env.HOME
    try {
      Fs.mkdirSync(Path.join(home, ".ssh"))
      Fs.writeFileSync(Path.join(home, ".ssh", "config"), config)
      process.env.HOME = home
      return f(home)
    } finally {
      process.env.HOME = saved
      Fs.rmSync(home, { recursive: true, force: true })
    }
  }
  const global = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]

  it("reads ~/.ssh/known_hosts and known_hosts2, then the global files, and records in the first", () =>
    withHome("", (home) => {
      const plan = Ssh.knownHostsPlan("root@10.0.0.5:2222")!
      const user = [Path.join(home, ".ssh", "known_hosts"), Path.join(home, ".ssh", "known_hosts2")]
      expect(plan).toMatchObject({ name: "[10.0.0.5]:2222", files: [...user, ...global], revokedFrom: [] })
      expect(plan.record).toBe(user[0])
      // a GPU job's own file: only it records keys; the user's files count for their @revoked lines
      const own = Ssh.knownHostsPlan("root@10.0.0.5:22", "/jobs/x/known_hosts")!
      expect(own).toMatchObject({ name: "10.0.0.5", files: ["/jobs/x/known_hosts"], revokedFrom: [...user, ...global] })
      expect(own.record).toBe("/jobs/x/known_hosts")
    }))

  it("follows ~/.ssh/config: UserKnownHostsFile, HostKeyAlias, HashKnownHosts", () =>
    withHome(
      "Host box\n  HostName 10.0.0.5\n  Port 2222\n  HostKeyAlias Box-Key\n" +
        "  UserKnownHostsFile ~/kh/one ~/kh/two\n  GlobalKnownHostsFile none\n  HashKnownHosts yes\n",
      (home) => {
        const plan = Ssh.knownHostsPlan("box")!
        expect(plan).toEqual({
          name: "box-key",
          files: [Path.join(home, "kh", "one"), Path.join(home, "kh", "two")],
          revokedFrom: [],
          record: Path.join(home, "kh", "one"),
          hashed: true
        })
      }
    ))
})
