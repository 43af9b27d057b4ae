// known_hosts as OpenSSH reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT", hostfile.c, match.c): parsing, host name
// matching (patterns, negations, hashed names, [host]:port), and the verdict on a presented key. Pure: no I/O here.
import * as Crypto from "node:crypto"

/** One usable line of a known_hosts file. */
export interface Entry {
  readonly file: string
  /** 1-based, as editors and `sed -n Np` count. */
  readonly line: number
  readonly marker: "none" | "revoked" | "cert-authority"
  /** The host field as written: a comma-separated pattern list, or one hashed name `|1|salt|hash`. */
  readonly names: string
  readonly type: string
  readonly key: Buffer
}

/** The key type named inside an SSH public key blob ("ssh-ed25519", ...), or undefined when it is not one. */
export const blobType = (blob: Buffer): string | undefined => {
  if (blob.length < 4) return undefined
  const n = blob.readUInt32BE(0)
  if (n === 0 || n > 64 || 4 + n > blob.length) return undefined
  const type = blob.subarray(4, 4 + n).toString("latin1")
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined
}

/** A key's fingerprint as `ssh-keygen -l` prints it: SHA256 of the blob, base64 without padding. */
export const fingerprint = (blob: Buffer): string =>
  `SHA256:${Crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`

const base64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The entries of a known_hosts text; lines OpenSSH would skip (comments, blanks, unknown markers, bad keys) are. */
export const parse = (text: string, file: string): Array<Entry> => {
  const entries: Array<Entry> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    let fields = lines[i]!.replace(/\r$/, "")
      .trim()
      .split(/[ \t]+/)
    if (fields[0] === "" || fields[0]!.startsWith("#")) continue
    let marker: Entry["marker"] = "none"
    if (fields[0]!.startsWith("@")) {
      if (fields[0] === "@revoked") marker = "revoked"
      else if (fields[0] === "@cert-authority") marker = "cert-authority"
      // an unknown marker: OpenSSH skips the line, and so do we
      else continue
      fields = fields.slice(1)
    }
    const [names, type, data] = fields
    if (names === undefined || type === undefined || data === undefined || !base64.test(data)) continue
    const key = Buffer.from(data, "base64")
    // the key must say of itself what the line says it is (a line of the old RSA1 format never does)
    if (blobType(key) !== type) continue
    entries.push({ file, line: i + 1, marker, names, type, key })
  }
  return entries
}

/** OpenSSH's match_pattern: `*` any run, `?` one character, nothing else special. Linear in practice. */
export const matchPattern = (text: string, pattern: string): boolean => {
  let t = 0
  let p = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++
      resume = t
    } else if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      t++
      p++
    } else if (star !== -1) {
      p = star + 1
      t = ++resume
    } else return false
  }
  while (p < pattern.length && pattern[p] === "*") p++
  return p === pattern.length
}

/** OpenSSH's match_hostname: a comma-separated list, case-insensitive, where one matching `!pattern` vetoes all. */
export const matchPatternList = (name: string, list: string): boolean => {
  const text = name.toLowerCase()
  let positive = false
  for (const raw of list.toLowerCase().split(",")) {
    const negated = raw.startsWith("!")
    if (!matchPattern(text, negated ? raw.slice(1) : raw)) continue
    if (negated) return false
    positive = true
  }
  return positive
}

/** A hashed name `|1|salt|hash`: HMAC-SHA1 of the name, keyed with the salt (20 bytes each, as OpenSSH writes). */
export const hashName = (name: string, salt: Buffer = Crypto.randomBytes(20)): string =>
  `|1|${salt.toString("base64")}|${Crypto.createHmac("sha1", salt).update(name).digest("base64")}`

const matchHashed = (name: string, field: string): boolean => {
  const parts = field.split("|")
  if (parts.length !== 4 || parts[1] !== "1" || !base64.test(parts[2]!) || !base64.test(parts[3]!)) return false
  const salt = Buffer.from(parts[2]!, "base64")
  const hash = Buffer.from(parts[3]!, "base64")
  if (salt.length !== 20 || hash.length !== 20) return false
  return Crypto.timingSafeEqual(Crypto.createHmac("sha1", salt).update(name).digest(), hash)
}

/** The name known_hosts records a host under: `host` on port 22, `[host]:port` elsewhere, lower case. */
export const lookupName = (host: string, port: number): string =>
  port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`

/** Whether an entry's host field names this host (`name` as lookupName gives it). */
export const namesHost = (names: string, name: string): boolean =>
  names.startsWith("|") ? matchHashed(name, names) : matchPatternList(name, names)

/** What the known_hosts files say of a presented key. */
export type Verdict =
  /** A plain entry for this host holds exactly this key. */
  | { readonly _tag: "known"; readonly entry: Entry }
  /** This key is marked @revoked for this host: refused, whatever else lists it. */
  | { readonly _tag: "revoked"; readonly entry: Entry }
  /** The host is known, under these entries (of any key type), and none of them is this key. */
  | { readonly _tag: "changed"; readonly recorded: ReadonlyArray<Entry> }
  /** No plain entry names this host. */
  | { readonly _tag: "unknown" }

/**
 * The verdict on `key` presented by the host known as `name`, as OpenSSH's check_key_in_hostkeys gives it: a key of
 * another type than the recorded ones is a changed key, not a new one; @cert-authority lines never make a plain key
 * known (nor changed); a revoked key is refused first.
 */
export const check = (entries: ReadonlyArray<Entry>, name: string, key: Buffer): Verdict => {
  const forHost = entries.filter((e) => namesHost(e.names, name))
  const revoked = forHost.find((e) => e.marker === "revoked" && e.key.equals(key))
  if (revoked !== undefined) return { _tag: "revoked", entry: revoked }
  const plain = forHost.filter((e) => e.marker === "none")
  const same = plain.find((e) => e.key.equals(key))
  if (same !== undefined) return { _tag: "known", entry: same }
  return plain.length > 0 ? { _tag: "changed", recorded: plain } : { _tag: "unknown" }
}

/** The host key algorithms the client offers by default (ssh2's list, in its order). */
export const defaultHostKeyAlgorithms = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa"
] as const

/** An algorithm of defaultHostKeyAlgorithms. */
export type HostKeyAlgorithm = (typeof defaultHostKeyAlgorithms)[number]

const algorithmsOf = (type: string): ReadonlyArray<string> =>
  type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type]

/**
 * The host key algorithms to offer, those of the key types recorded for this host first (OpenSSH's
 * order_hostkeyalgs): a host that has several keys then shows the one we know, rather than one we would call changed.
 */
export const preferredAlgorithms = (entries: ReadonlyArray<Entry>, name: string): Array<HostKeyAlgorithm> => {
  const known = new Set(
    entries.filter((e) => e.marker === "none" && namesHost(e.names, name)).flatMap((e) => algorithmsOf(e.type))
  )
  return [
    ...defaultHostKeyAlgorithms.filter((a) => known.has(a)),
    ...defaultHostKeyAlgorithms.filter((a) => !known.has(a))
  ]
}

/** The line OpenSSH appends for a newly accepted key (hashed when HashKnownHosts is on). */
export const formatLine = (name: string, key: Buffer, hashed: boolean): string =>
  `${hashed ? hashName(name) : name} ${blobType(key) ?? "unknown"} ${key.toString("base64")}\n`

/** Where an entry is, as `file:line`. */
export const where = (e: Entry): string => `${e.file}:${e.line}`
