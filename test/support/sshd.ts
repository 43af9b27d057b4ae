// A private sshd on 127.0.0.1 for tests: its own host key, port, authorized key and config, and a client HOME
// whose ~/.ssh holds the matching identity. Nothing of the machine's own ssh setup is read or changed.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { tempDir } from "./cli.ts"

export interface Sshd {
  readonly port: number
  /** A HOME for the client: .ssh/id_ed25519 is authorized on this server; known_hosts starts empty. */
  readonly clientHome: string
  /** The server's ed25519 host public key line ("ssh-ed25519 AAAA..."). */
  readonly hostKey: string
  /** Each host key the server has, by type, as "TYPE BASE64" lines (which ones it shows: Options.present). */
  readonly hostKeys: Readonly<Record<HostKeyType, string>>
  readonly dir: string
  readonly stop: () => void
  readonly start: () => Promise<void>
  /** Cuts every open connection (kills the server's per-connection processes); the server keeps listening. */
  readonly dropConnections: () => number
  /** How many connections are open (the server's per-connection processes). */
  readonly connections: () => number
}

const childrenOf = (pid: number): Array<number> =>
  Fs.readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = Fs.readFileSync(`/proc/${d}/stat`, "utf8")
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid
      } catch {
        return false
      }
    })
    .map(Number)

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = Net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0))
    })
  })

const keygen = (path: string, type: HostKeyType = "ed25519") =>
  ChildProcess.execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", path], { stdio: "ignore" })

/** The host key types a test server has. */
export type HostKeyType = "ed25519" | "ecdsa"

export interface Options {
  /** Show clients only this host key (sshd's HostKeyAlgorithms), though the server has both. Default: either. */
  readonly present?: HostKeyType
  /** The umask its sessions (a worker's login shells) get. */
  readonly umask?: string
}

const algorithm: Record<HostKeyType, string> = { ed25519: "ssh-ed25519", ecdsa: "ecdsa-sha2-nistp256" }

const listening = async (port: number) => {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = Net.connect(port, "127.0.0.1")
      c.once("connect", () => {
        c.destroy()
        resolve(true)
      })
      c.once("error", () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`sshd did not listen on ${port}`)
}

/** Whether this machine can run a private sshd (openssh-server installed). */
export const available = (): boolean => Fs.existsSync("/usr/sbin/sshd") && Fs.existsSync("/usr/bin/ssh-keygen")

/** Starts a private sshd. */
export const start = async (options: Options = {}): Promise<Sshd> => {
  const dir = tempDir("jobs-sshd-")
  const clientHome = tempDir("jobs-ssh-client-")
  const port = await freePort()
  keygen(Path.join(dir, "host_ed25519"))
  keygen(Path.join(dir, "host_ecdsa"), "ecdsa")
  Fs.mkdirSync(Path.join(clientHome, ".ssh"), { mode: 0o700 })
  keygen(Path.join(clientHome, ".ssh", "id_ed25519"))
  Fs.copyFileSync(Path.join(clientHome, ".ssh", "id_ed25519.pub"), Path.join(dir, "authorized_keys"))
  Fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
  const config = Path.join(dir, "sshd_config")
  Fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${Path.join(dir, "host_ed25519")}`,
      `HostKey ${Path.join(dir, "host_ecdsa")}`,
      ...(options.present === undefined ? [] : [`HostKeyAlgorithms ${algorithm[options.present]}`]),
      `PidFile ${Path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${Path.join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "Subsystem sftp internal-sftp",
      ""
    ].join("\n")
  )
  let child: ChildProcess.ChildProcess | undefined
  const startServer = async () => {
    child =
      options.umask === undefined
        ? ChildProcess.spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: "ignore" })
        : ChildProcess.spawn(
            "/bin/sh",
            ["-c", 'umask "$0" && exec /usr/sbin/sshd -D -e -f "$1"', options.umask, config],
            { stdio: "ignore" }
          )
    await listening(port)
  }
  await startServer()
  const publicKey = (type: HostKeyType) =>
    Fs.readFileSync(Path.join(dir, `host_${type}.pub`), "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ")
  return {
    port,
    clientHome,
    dir,
    hostKey: publicKey("ed25519"),
    hostKeys: { ed25519: publicKey("ed25519"), ecdsa: publicKey("ecdsa") },
    stop: () => {
      child?.kill()
      child = undefined
    },
    start: startServer,
    connections: () => (child?.pid === undefined ? 0 : childrenOf(child.pid).length),
    dropConnections: () => {
      const pids = child?.pid === undefined ? [] : childrenOf(child.pid)
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          // gone already
        }
      }
      return pids.length
    }
  }
}
