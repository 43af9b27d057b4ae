// The SSH worker registry ($JOBS_HOME/workers.yaml): a name, how to reach it, and its remote home. No secret is
// ever stored here: authentication is the agent's or an identity file's.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { RegularFile } from "../events/mod.ts"
import { untrustedText } from "./errors.ts"
import type * as Home from "./home.ts"
import { makeDirs } from "./job_store.ts"

/** A registered worker. */
export interface Worker {
  readonly name: string
  /** What the user gave: `user@host`, `user@host:port`, or a ~/.ssh/config Host alias. */
  readonly connection: string
  /** The jobs home on the worker (default ~/.jobs). */
  readonly remoteHome: string
  readonly isDefault: boolean
  /**
   * For a GPU job's instance (an ad-hoc worker, never in the registry): the job's own known_hosts, where the
   * instance's host key is recorded the first time it is seen (a cloud reuses addresses, ~/.ssh/known_hosts is no
   * place for them).
   */
  readonly knownHostsFile?: string
}

const file = (layout: Home.Layout) => Path.join(layout.home, "workers.yaml")

/** A name a worker can have: it names folders and appears in tables. */
export const isValidName = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)

/** Every registered worker, in the order they were added. */
export const read = (layout: Home.Layout): Array<Worker> => {
  let text = ""
  try {
    text = Fs.readFileSync(file(layout), "utf8")
  } catch {
    return []
  }
  const workers: Array<Worker> = []
  let current: Record<string, string> | undefined
  const flush = () => {
    if (current?.name !== undefined && current.connection !== undefined) {
      workers.push({
        name: current.name,
        connection: current.connection,
        remoteHome: current.remote_home ?? "~/.jobs",
        isDefault: current.default === "true"
      })
    }
  }
  for (const line of text.split("\n")) {
    const item = /^- name: (.*)$/.exec(line)
    if (item !== null) {
      flush()
      current = { name: JSON.parse(item[1]!) as string }
      continue
    }
    const field = /^ {2}([a-z_]+): (.*)$/.exec(line)
    if (field !== null && current !== undefined) current[field[1]!] = JSON.parse(field[2]!) as string
  }
  flush()
  return workers
}

/** The worker name a GPU job records in its spec: its instance, found through the job's log. */
export const GPU = "gpu"

/**
 * The instance of a GPU job as an ad-hoc worker named `gpu:<job id>`: the SSH endpoint of its last InstanceReady
 * event, undefined before there is one.
 */
export const ofGpuJob = (layout: Home.Layout, jobId: string): Worker | undefined => {
  if (!/^[0-9A-Z]{26}$/.test(jobId)) return undefined
  const dir = Path.join(layout.jobs, jobId)
  const text = RegularFile.readTextOr(Path.join(dir, "events.jsonl"), "")
  let ready: { host: string; port: number; user: string } | undefined
  for (const line of text.split("\n")) {
    if (!line.includes('"InstanceReady"')) continue
    try {
      ready = JSON.parse(line)
    } catch {
      // a torn line: the earlier one stands
    }
  }
  if (ready === undefined) return undefined
  const host = ready.host.includes(":") ? `[${ready.host}]` : ready.host
  return {
    name: `${GPU}:${jobId}`,
    connection: `${ready.user}@${host}:${ready.port}`,
    remoteHome: "~/.jobs",
    isDefault: false,
    knownHostsFile: Path.join(dir, "known_hosts")
  }
}

/**
 * The worker a name stands for: a registered one (null: the default), `gpu:<job id>` for a GPU job's instance, or
 * `gpu` with the job's id (what a GPU job's spec records).
 */
export const find = (layout: Home.Layout, name: string | null, jobId?: string): Worker | undefined => {
  if (name === GPU) return jobId === undefined ? undefined : ofGpuJob(layout, jobId)
  if (name?.startsWith(`${GPU}:`)) return ofGpuJob(layout, name.slice(GPU.length + 1))
  const workers = read(layout)
  if (name === null) return workers.find((w) => w.isDefault)
  const registered = workers.find((w) => w.name === name)
  if (registered !== undefined) return registered
  // a connection string that names no registered worker (RemoteJob's `ssh`): host keys from ~/.ssh/known_hosts
  return name.includes("@") && parseConnection(name) !== undefined
    ? { name, connection: name, remoteHome: "~/.jobs", isDefault: false }
    : undefined
}

/** How to check a worker's host key: an ad-hoc worker (a GPU instance) records it in its job's own known_hosts. */
export const hostKeyOptions = (
  worker: Worker
): { readonly knownHostsFile?: string; readonly acceptNewHostKey?: boolean } =>
  worker.knownHostsFile === undefined ? {} : { knownHostsFile: worker.knownHostsFile, acceptNewHostKey: true }

/** The line `jobs __ssh` (rsync's remote shell) writes on stderr when it cannot reach a worker. */
export const pipeFailure = (name: string, why: string): string => `Cannot open an SSH pipe to worker "${name}": ${why}`

/** The reason `jobs __ssh` gave in an rsync's stderr for not reaching the worker, if it gave one. */
export const pipeFailureIn = (stderr: string): string | undefined => {
  for (const line of stderr.split("\n")) {
    const m = /^Cannot open an SSH pipe to worker "[^"]*": (.+)$/.exec(line)
    if (m !== null) return m[1]
  }
  return undefined
}

/**
 * Why an rsync through `jobs __ssh` failed: the pipe's own reason when it could not reach the worker (a refused host
 * key, a refused connection), else rsync's last line ("rsync error: unexplained error (code 255)" says nothing).
 */
export const rsyncFailure = (stderr: string): string | undefined => {
  const why = pipeFailureIn(stderr) ?? (stderr.trim().split("\n").pop() || undefined)
  return why === undefined ? undefined : untrustedText(why)
}

/** A path inside a remote work dir: `./results`, `results` and `results/` are the same; nothing may leave it. */
export const normalizePath = (path: string): string | undefined => {
  const p = Path.posix.normalize(path.replace(/^\.\/+/, "")).replace(/\/+$/, "")
  if (Path.posix.isAbsolute(p) || p === ".." || p.startsWith("../")) return undefined
  return p === "." ? "" : p
}

/** Writes the registry whole (aside, then renamed). */
export const write = (layout: Home.Layout, workers: ReadonlyArray<Worker>): void => {
  const text =
    "# jobs workers (written by `jobs worker ...`)\n" +
    workers
      .map(
        (w) =>
          `- name: ${JSON.stringify(w.name)}\n  connection: ${JSON.stringify(w.connection)}\n` +
          `  remote_home: ${JSON.stringify(w.remoteHome)}\n  default: ${JSON.stringify(String(w.isDefault))}\n`
      )
      .join("")
  makeDirs(layout.home)
  Fs.writeFileSync(`${file(layout)}.tmp`, text, { mode: 0o600 })
  Fs.renameSync(`${file(layout)}.tmp`, file(layout))
}

/** Where to connect, parsed from `user@host[:port]` (an alias is resolved through ~/.ssh/config elsewhere). */
export interface Target {
  readonly user: string | undefined
  readonly host: string
  readonly port: number | undefined
}

/** Parses `user@host`, `user@host:port`, `host`, `[::1]:22`. */
export const parseConnection = (connection: string): Target | undefined => {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d{1,5}))?$/.exec(connection)
  if (m === null) return undefined
  const port = m[3] === undefined ? undefined : Number(m[3])
  if (port !== undefined && (port < 1 || port > 65535)) return undefined
  return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ""), port }
}
