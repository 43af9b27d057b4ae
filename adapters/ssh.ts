// One SSH stack (ssh2) for every worker operation. ssh2 reads neither ~/.ssh/config nor known_hosts, so this
// module does: Host aliases (HostName, User, Port, IdentityFile), and host key verification against known_hosts as
// OpenSSH does it (_known_hosts.ts), refusing unknown, changed and revoked keys unless told to accept a first-seen one.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Client, type ClientChannel, type ConnectConfig } from "ssh2"
import * as Workers from "../core/workers.ts"
import * as KnownHosts from "./_known_hosts.ts"

/** Where and as whom to connect, after ~/.ssh/config. */
export interface Resolved {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly identityFiles: ReadonlyArray<string>
}

const sshDir = () => Path.join(Os.homedir(), ".ssh")
const expand = (p: string) => (p.startsWith("~/") ? Path.join(Os.homedir(), p.slice(2)) : p)

const glob = (pattern: string, text: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".")}$`
  ).test(text)

/** The ~/.ssh/config settings for a host alias (first value wins, as in OpenSSH). */
export const configFor = (alias: string, text?: string): Record<string, Array<string>> => {
  let config = text
  if (config === undefined) {
    try {
      config = Fs.readFileSync(Path.join(sshDir(), "config"), "utf8")
    } catch {
      return {}
    }
  }
  const found: Record<string, Array<string>> = {}
  let applies = true
  for (const raw of config.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const m = /^(\S+)\s*=?\s*(.*)$/.exec(line)
    if (m === null) continue
    const key = m[1]!.toLowerCase()
    const value = m[2]!.replace(/^"(.*)"$/, "$1")
    if (key === "host") {
      const patterns = value.split(/\s+/)
      applies =
        patterns.some((p) => !p.startsWith("!") && glob(p, alias)) &&
        !patterns.some((p) => p.startsWith("!") && glob(p.slice(1), alias))
      continue
    }
    if (key === "match") {
      applies = false
      continue
    }
    if (!applies) continue
    if (key === "identityfile") found[key] = [...(found[key] ?? []), value]
    else found[key] ??= [value]
  }
  return found
}

/** A worker's connection string resolved through ~/.ssh/config. */
export const resolve = (connection: string): Resolved | undefined => {
  const target = Workers.parseConnection(connection)
  if (target === undefined) return undefined
  const config = configFor(target.host)
  const defaults = ["id_ed25519", "id_ecdsa", "id_rsa"]
    .map((f) => Path.join(sshDir(), f))
    .filter((f) => Fs.existsSync(f))
  return {
    host: config.hostname?.[0] ?? target.host,
    port: target.port ?? Number(config.port?.[0] ?? 22),
    user: target.user ?? config.user?.[0] ?? Os.userInfo().username,
    identityFiles: config.identityfile !== undefined ? config.identityfile.map(expand) : defaults
  }
}

const readText = (file: string): string | undefined => {
  try {
    return Fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** Where a host's keys are looked up and recorded, after ~/.ssh/config and then /etc/ssh/ssh_config. */
export interface KnownHostsPlan {
  /** The name entries are matched against: `host`, `[host]:port`, or the HostKeyAlias. */
  readonly name: string
  /** Files whose every entry counts, in OpenSSH's order (user files, then the global ones). */
  readonly files: ReadonlyArray<string>
  /** Files of which only @revoked lines count (for a GPU instance: the user's own files). */
  readonly revokedFrom: ReadonlyArray<string>
  /** Where a newly accepted key is appended (the first user file). */
  readonly record: string
  /** HashKnownHosts: record the name hashed. */
  readonly hashed: boolean
}

/**
 * The known_hosts files OpenSSH would read for this host: UserKnownHostsFile (default ~/.ssh/known_hosts and
 * ~/.ssh/known_hosts2) then GlobalKnownHostsFile (default /etc/ssh/ssh_known_hosts and ssh_known_hosts2). With
 * `own` (a GPU job's file), only that file records keys: a cloud reuses addresses, so the user's entries for them
 * would be stale; a key the user revoked stays revoked there too.
 */
export const knownHostsPlan = (connection: string, own?: string): KnownHostsPlan | undefined => {
  const target = resolve(connection)
  if (target === undefined) return undefined
  const alias = Workers.parseConnection(connection)?.host ?? target.host
  const user = configFor(alias)
  const system = configFor(alias, readText("/etc/ssh/ssh_config") ?? "")
  const setting = (key: string) => user[key]?.[0] ?? system[key]?.[0]
  const list = (key: string, fallback: ReadonlyArray<string>) => {
    const value = setting(key)
    if (value === undefined) return fallback
    return value.toLowerCase() === "none" ? [] : value.split(/\s+/).map(expand)
  }
  const userFiles = list("userknownhostsfile", [
    Path.join(sshDir(), "known_hosts"),
    Path.join(sshDir(), "known_hosts2")
  ])
  const globalFiles = list("globalknownhostsfile", ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"])
  // HostKeyAlias replaces the name, port included (as in OpenSSH)
  const hostKeyAlias = setting("hostkeyalias")
  return {
    name: hostKeyAlias?.toLowerCase() ?? KnownHosts.lookupName(target.host, target.port),
    files: own === undefined ? [...userFiles, ...globalFiles] : [own],
    revokedFrom: own === undefined ? [] : [...userFiles, ...globalFiles],
    record: own ?? userFiles[0] ?? Path.join(sshDir(), "known_hosts"),
    hashed: setting("hashknownhosts")?.toLowerCase() === "yes"
  }
}

/** The entries a plan reads (files that do not exist have none). */
export const knownHostsEntries = (plan: KnownHostsPlan): Array<KnownHosts.Entry> => [
  ...plan.files.flatMap((f) => KnownHosts.parse(readText(f) ?? "", f)),
  ...plan.revokedFrom.flatMap((f) => KnownHosts.parse(readText(f) ?? "", f).filter((e) => e.marker === "revoked"))
]

/**
 * Records a first-seen host key as OpenSSH's accept-new does: one line appended in a single write (created 0600,
 * its folder 0700), after a newline if the file did not end with one.
 */
export const rememberHostKey = (plan: KnownHostsPlan, key: Buffer): void => {
  Fs.mkdirSync(Path.dirname(plan.record), { recursive: true, mode: 0o700 })
  const fd = Fs.openSync(plan.record, "a+", 0o600)
  try {
    const size = Fs.fstatSync(fd).size
    const last = Buffer.alloc(1)
    const glue = size > 0 && Fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a ? "\n" : ""
    Fs.writeSync(fd, glue + KnownHosts.formatLine(plan.name, key, plan.hashed))
    Fs.fsyncSync(fd)
  } finally {
    Fs.closeSync(fd)
  }
}

/** A path as the user would write it: ~/... under the home folder. */
const shown = (file: string) => {
  const home = Os.homedir()
  return file.startsWith(`${home}/`) ? `~/${file.slice(home.length + 1)}` : file
}

const entryAt = (e: KnownHosts.Entry) => `${shown(e.file)}:${e.line}`

/** Why the presented key is refused (undefined: it is accepted), as the end of a one-line error. */
export const refusal = (
  plan: KnownHostsPlan,
  verdict: KnownHosts.Verdict,
  key: Buffer,
  acceptNew: boolean
): string | undefined => {
  const presented = `${KnownHosts.blobType(key) ?? "unknown"} key ${KnownHosts.fingerprint(key)}`
  switch (verdict._tag) {
    case "known":
      return undefined
    case "revoked":
      return `the host key of ${plan.name} (${presented}) is REVOKED: it is marked @revoked in ${entryAt(verdict.entry)}`
    case "changed": {
      const recorded = verdict.recorded.map((e) => `${entryAt(e)} (${e.type})`).join(", ")
      return (
        `the host key of ${plan.name} has CHANGED: it presents an ${presented} that is not the one recorded in ` +
        `${recorded} (someone may be impersonating it; if the change is expected, delete ` +
        `${verdict.recorded.length === 1 ? "that line" : "those lines"} and connect again)`
      )
    }
    case "unknown":
      return acceptNew
        ? undefined
        : `the host key of ${plan.name} is not in ${shown(plan.record)} (it presents an ${presented}; connect once ` +
            "with ssh, or add the worker with --accept-new-host-key)"
  }
}

/** Why a connection failed, as the end of a one-line error. */
export class SshError extends Error {
  /** The host key was refused (changed, revoked, unknown): trying again will not help. */
  readonly hostKey: boolean
  constructor(message: string, hostKey = false) {
    super(message)
    this.hostKey = hostKey
  }
}

/** What a failure before or during the handshake was: refused, timed out, no such host, ... (never a key verdict). */
export const networkFailure = (
  e: Error & { readonly code?: string; readonly level?: string },
  where: string,
  host: string,
  port: number,
  timeoutMs: number
): string => {
  switch (e.code) {
    case "ECONNREFUSED":
      return `connection refused by ${where} (is sshd listening on port ${port} there?)`
    case "ENOTFOUND":
      return `no such host "${host}" (its name does not resolve)`
    case "EAI_AGAIN":
      return `cannot resolve "${host}" for now (the name server did not answer)`
    case "ETIMEDOUT":
      return `timed out connecting to ${where}`
    case "EHOSTUNREACH":
      return `no route to host ${where}`
    case "ENETUNREACH":
      return `the network of ${where} is unreachable`
    case "ECONNRESET":
      return `the connection to ${where} was reset during the handshake`
  }
  if (e.level === "client-timeout")
    return `timed out after ${Math.round(timeoutMs / 100) / 10}s waiting for the SSH handshake with ${where}`
  if (e.level === "client-authentication")
    return `${where} refused the login (no key of the SSH agent or of the identity files is authorized there)`
  return e.message
}

/** Opens a connection to a worker; host key verified, agent or identity files, timeouts and keep-alives set. */
export const connect = (
  connection: string,
  options: {
    readonly acceptNewHostKey?: boolean
    readonly timeoutMs?: number
    /** Check (and with acceptNewHostKey, record) host keys in this file instead of ~/.ssh/known_hosts. */
    readonly knownHostsFile?: string | undefined
  } = {}
): Promise<Client> =>
  new Promise((resolvePromise, reject) => {
    const target = resolve(connection)
    const plan = knownHostsPlan(connection, options.knownHostsFile)
    if (target === undefined || plan === undefined)
      return reject(new SshError(`"${connection}" is not user@host, user@host:port or a Host alias`))
    const where = KnownHosts.lookupName(target.host, target.port)
    const timeoutMs = options.timeoutMs ?? 10_000
    const entries = knownHostsEntries(plan)
    // set when the host key was refused: whatever ssh2 reports next, this is why
    let refused: string | undefined
    const privateKey = target.identityFiles
      .map((f) => {
        try {
          return Fs.readFileSync(f)
        } catch {
          return undefined
        }
      })
      .find((k) => k !== undefined)
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: KnownHosts.preferredAlgorithms(entries, plan.name) },
      ...(process.env.SSH_AUTH_SOCK === undefined ? {} : { agent: process.env.SSH_AUTH_SOCK }),
      ...(privateKey === undefined ? {} : { privateKey }),
      hostVerifier: (key: Buffer) => {
        const verdict = KnownHosts.check(entries, plan.name, key)
        refused = refusal(plan, verdict, key, options.acceptNewHostKey === true)
        if (refused === undefined && verdict._tag === "unknown") {
          try {
            rememberHostKey(plan, key)
          } catch (e) {
            refused = `cannot record the host key of ${plan.name} in ${shown(plan.record)}: ${e instanceof Error ? e.message : String(e)}`
          }
        }
        return refused === undefined
      }
    }
    const client = new Client()
    let ready = false
    client.once("ready", () => {
      ready = true
      resolvePromise(client)
    })
    // a connection cut during the handshake may close without an error: never leave the caller waiting
    client.once("close", () => {
      if (!ready)
        reject(new SshError(refused ?? `the connection to ${where} closed during the handshake`, refused !== undefined))
    })
    client.once("error", (e) => {
      client.end()
      reject(
        new SshError(refused ?? networkFailure(e, where, target.host, target.port, timeoutMs), refused !== undefined)
      )
    })
    client.connect(config)
  })

/** What runs commands: an ssh2 client, or a shared connection (ssh_mux.ts). */
export interface Execs {
  exec(command: string, callback: (err: Error | undefined, channel: ClientChannel) => void): unknown
}

/** Runs a command (a shell string on the worker) and collects its output. */
export const exec = (client: Execs, command: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolvePromise, reject) => {
    client.exec(command, (err, stream) => {
      if (err !== undefined && err !== null) return reject(err)
      let stdout = ""
      let stderr = ""
      stream.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
      stream.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
      stream.on("close", (code: number | null) => resolvePromise({ code: code ?? 255, stdout, stderr }))
    })
  })
