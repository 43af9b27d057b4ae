// One SSH stack (ssh2) for every worker operation. ssh2 reads neither ~/.ssh/config nor known_hosts, so this
// module does: Host aliases (HostName, User, Port, IdentityFile), and host key verification against known_hosts,
// plain or hashed entries, refusing unknown and changed keys unless the caller accepts a first-seen one.
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Client, type ClientChannel, type ConnectConfig } from "ssh2"
import * as Workers from "../core/workers.ts"

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

/** The name known_hosts uses for a host and port. */
export const hostToken = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`)

const keyType = (blob: Buffer): string => {
  const n = blob.readUInt32BE(0)
  return blob.subarray(4, 4 + n).toString("latin1")
}

/** What known_hosts says of this host's key: known (matches), changed (another key), or unknown. */
export const checkHostKey = (
  host: string,
  port: number,
  key: Buffer,
  text?: string,
  file = Path.join(sshDir(), "known_hosts")
): "known" | "changed" | "unknown" => {
  let lines = text
  if (lines === undefined) {
    try {
      lines = Fs.readFileSync(file, "utf8")
    } catch {
      return "unknown"
    }
  }
  const token = hostToken(host, port)
  const type = keyType(key)
  const blob = key.toString("base64")
  let sawType = false
  for (const raw of lines.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#") || line.startsWith("@")) continue
    const [hosts, lineType, lineKey] = line.split(/\s+/)
    if (hosts === undefined || lineType === undefined || lineKey === undefined) continue
    const matches = hosts.startsWith("|1|")
      ? (() => {
          const [, , salt, hash] = hosts.split("|")
          const mac = Crypto.createHmac("sha1", Buffer.from(salt ?? "", "base64"))
            .update(token)
            .digest("base64")
          return mac === hash
        })()
      : hosts.split(",").some((h) => h === token || (!h.startsWith("!") && glob(h, token)))
    if (!matches || lineType !== type) continue
    if (lineKey === blob) return "known"
    sawType = true
  }
  return sawType ? "changed" : "unknown"
}

/** Records a first-seen host key (like OpenSSH's accept-new). */
export const rememberHostKey = (
  host: string,
  port: number,
  key: Buffer,
  file = Path.join(sshDir(), "known_hosts")
): void => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true, mode: 0o700 })
  Fs.appendFileSync(file, `${hostToken(host, port)} ${keyType(key)} ${key.toString("base64")}\n`, {
    mode: 0o600
  })
}

/** Why a connection failed, as the end of a one-line error. */
export class SshError extends Error {}

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
    if (target === undefined)
      return reject(new SshError(`"${connection}" is not user@host, user@host:port or a Host alias`))
    let verdict: "known" | "changed" | "unknown" | "accepted" = "unknown"
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
      readyTimeout: options.timeoutMs ?? 10_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      ...(process.env.SSH_AUTH_SOCK === undefined ? {} : { agent: process.env.SSH_AUTH_SOCK }),
      ...(privateKey === undefined ? {} : { privateKey }),
      hostVerifier: (key: Buffer) => {
        verdict = checkHostKey(target.host, target.port, key, undefined, options.knownHostsFile)
        if (verdict === "unknown" && options.acceptNewHostKey === true) {
          rememberHostKey(target.host, target.port, key, options.knownHostsFile)
          verdict = "accepted"
        }
        return verdict === "known" || verdict === "accepted"
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
        reject(new SshError(`the connection to ${hostToken(target.host, target.port)} closed during the handshake`))
    })
    client.once("error", (e) => {
      client.end()
      reject(
        new SshError(
          verdict === "changed"
            ? `the host key of ${hostToken(target.host, target.port)} has CHANGED since it was recorded in ~/.ssh/known_hosts (someone may be impersonating it; remove the old key if the change is expected)`
            : verdict === "unknown"
              ? `the host key of ${hostToken(target.host, target.port)} is not in ~/.ssh/known_hosts (connect once with ssh, or add the worker with --accept-new-host-key)`
              : e.message
        )
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
