// The JobStore service: a home's folders and files (DESIGN §3). Every write is 0600, every folder 0700.

import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Codec, type Event, EventLog, RegularFile } from "../events/mod.ts"
import * as EnvFile from "./env_file.ts"
import { StorageError } from "./errors.ts"
import * as Home from "./home.ts"
import * as Ids from "./ids.ts"
import * as JobState from "./job_state.ts"
import * as Shell from "./shell.ts"

/** A job read from its log. */
export interface Loaded {
  readonly state: JobState.JobState
  readonly paths: Home.JobPaths
  /** Undecodable lines skipped in the log. */
  readonly skipped: number
  /**
   * What makes the folder unreadable as a job (`cannot read events.jsonl: not a regular file`), or null. A damaged
   * folder is never shown as a job: readers warn once and go on, `rm --force` removes it.
   */
  readonly damaged: string | null
}

/**
 * How long a folder may have no log, or an empty one, before it counts as damaged: a submit creates the folder, then
 * the env file, then the log, and a reader may look in between.
 */
const CREATING_MS = 10_000

const attempt = <A>(action: string, path: string, f: () => A): Effect.Effect<A, StorageError> =>
  Effect.try({ try: f, catch: (cause) => new StorageError({ action, path, cause }) })

const keyFile = (layout: Home.Layout, key: string): string =>
  Path.join(layout.keys, Crypto.createHash("sha256").update(key).digest("hex").slice(0, 32))

/**
 * Creates a directory and its missing parents, 0700. Not `mkdirSync({ recursive: true })`: under /proc the kernel
 * answers ENOENT for a parent that exists, and Node's recursive mkdir then loops forever.
 */
export const makeDirs = (dir: string): void => {
  const missing: Array<string> = []
  for (let d = Path.resolve(dir); !Fs.existsSync(d); d = Path.dirname(d)) {
    missing.push(d)
    if (Path.dirname(d) === d) break
  }
  for (const d of missing.reverse()) {
    try {
      Fs.mkdirSync(d, { mode: 0o700 })
    } catch (e) {
      // another process made it in the meantime (50 `jobs run` on a new home at once): fine if it is a folder
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !Fs.statSync(d).isDirectory()) throw e
    }
  }
}

/** A regular file's bytes; throws what StorageError words (a missing file is ENOENT, a FIFO or link is refused). */
const readRegular = (path: string): Buffer => {
  let bytes: Buffer | undefined
  try {
    bytes = RegularFile.readSync(path)
  } catch (e) {
    throw e instanceof RegularFile.Unreadable ? new Error(e.reason) : e
  }
  if (bytes === undefined) throw Object.assign(new Error("no such file"), { code: "ENOENT" })
  return bytes
}

/** Builds the store of one home. */
export const make = (home: string) => {
  const layout = Home.layout(home)
  const paths = (id: string) => Home.jobPaths(layout, id)

  /** Creates the home (0700) and its folders if missing. Called before the first write, never by readers. */
  const ensure = attempt("create home", home, () => {
    for (const dir of [layout.home, layout.jobs, layout.keys]) {
      makeDirs(dir)
    }
    Fs.accessSync(layout.jobs, Fs.constants.W_OK)
  })

  /** Every job id in the home, oldest first (ULIDs sort by time). */
  const ids = Effect.sync(() => {
    let names: Array<string>
    try {
      names = Fs.readdirSync(layout.jobs)
    } catch {
      return [] as Array<string>
    }
    return names.filter(Ids.isId).sort()
  })

  const load = (id: string): Loaded => {
    const p = paths(id)
    const replayed = EventLog.replaySync(p.eventsPath)
    const state = JobState.fold(id, replayed.events)
    return { state, paths: p, skipped: replayed.skipped, damaged: damageOf(id, p, replayed, state) }
  }

  const damageOf = (
    id: string,
    p: Home.JobPaths,
    replayed: EventLog.Replayed,
    state: JobState.JobState
  ): string | null => {
    let folder: Fs.Stats
    try {
      folder = Fs.lstatSync(p.dir)
    } catch {
      return null
    }
    // a link in place of the folder would make every reader and writer work on files somewhere else
    if (!folder.isDirectory()) return "cannot read the job folder: it is a symbolic link or not a folder"
    if (replayed.problem !== undefined && replayed.problem !== "no such file") {
      return `cannot read events.jsonl: ${replayed.problem}`
    }
    if (state.spec !== null) return null
    if (Date.now() - Ids.time(id) < CREATING_MS) return null
    if (replayed.problem !== undefined) return `cannot read events.jsonl: ${replayed.problem}`
    if (replayed.events.length === 0 && replayed.skipped === 0) return "cannot read events.jsonl: it is empty"
    return "cannot read events.jsonl: it has no Submitted event"
  }

  /** Reads a job from its log; never fails (a missing or damaged log is a job with no events, and says so). */
  const read = (id: string) => Effect.sync(() => load(id))

  /** The name in a job's first line, read cheaply for reference resolution. */
  const nameOf = (id: string): string | null => {
    const p = paths(id)
    try {
      const head = RegularFile.readSync(p.eventsPath, 0, 16 * 1024)
      if (head === undefined) return null
      const submitted = Codec.decodeLine(head.toString("utf8").split("\n", 1)[0]!)
      return submitted?.type === "Submitted" ? submitted.spec.name : null
    } catch {
      return null
    }
  }

  /** Creates a job's folder, its 0600 env file, and appends Submitted. */
  const create = (
    submitted: Event.Event & { type: "Submitted" },
    env: Readonly<Record<string, string>> | string,
    options: { readonly sync?: boolean } = {}
  ) =>
    Effect.gen(function* () {
      const p = paths(submitted.job)
      yield* attempt("create job folder", p.dir, () => Fs.mkdirSync(p.dir, { mode: 0o700 }))
      yield* attempt("write env file", p.envPath, () =>
        Fs.writeFileSync(p.envPath, typeof env === "string" ? env : EnvFile.render(env), { mode: 0o600, flag: "wx" })
      )
      yield* attempt("append to", p.eventsPath, () => EventLog.appendSync(p.eventsPath, [submitted], options))
      return p
    })

  /** Appends events to a job's log. */
  const append = (id: string, ...events: ReadonlyArray<Event.Event>) =>
    attempt("append to", paths(id).eventsPath, () => EventLog.appendSync(paths(id).eventsPath, events))

  /** The environment a job was submitted with. */
  const readEnv = (id: string) =>
    attempt("read env file", paths(id).envPath, () => EnvFile.parse(readRegular(paths(id).envPath).toString("utf8")))

  /**
   * Claims an idempotency key for a job id: exactly one claimant wins, across processes. The key file appears
   * whole (written aside, then hard-linked, which fails if the name exists), so a loser always reads an id.
   * Returns the owner's id: the given one when this call won.
   */
  const claimKey = (key: string, id: string) =>
    attempt("claim key in", layout.keys, () => {
      const file = keyFile(layout, key)
      const tmp = `${file}.${id}.tmp`
      Fs.writeFileSync(tmp, id, { mode: 0o600 })
      try {
        Fs.linkSync(tmp, file)
        return id
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        return Fs.readFileSync(file, "utf8").trim()
      } finally {
        Fs.rmSync(tmp, { force: true })
      }
    })

  /** Frees a key if (and only if) it still belongs to this job. */
  const releaseKey = (key: string, id: string) =>
    attempt("release key in", layout.keys, () => {
      const file = keyFile(layout, key)
      try {
        if (Fs.readFileSync(file, "utf8").trim() === id) Fs.rmSync(file, { force: true })
      } catch {
        // no key file: nothing to free
      }
    })

  /** Deletes a job's folder. */
  const remove = (id: string) =>
    attempt("remove job folder", paths(id).dir, () => {
      const dir = paths(id).dir
      try {
        Fs.rmSync(dir, { recursive: true, force: true })
      } catch (e) {
        // a damaged folder may have lost its permissions: it is ours, so it gets them back to be removed
        if ((e as NodeJS.ErrnoException).code !== "EACCES" || !Fs.lstatSync(dir).isDirectory()) throw e
        Fs.chmodSync(dir, 0o700)
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    })

  /** Writes the stop request the supervisor reads when signalled. */
  const writeStopRequest = (id: string, signal: string, graceSecs: number) =>
    attempt("write stop request", paths(id).stopPath, () => {
      const p = paths(id)
      Fs.writeFileSync(`${p.stopPath}.tmp`, `${signal.replace(/^SIG/, "")} ${Math.ceil(graceSecs)}\n`, { mode: 0o600 })
      Fs.renameSync(`${p.stopPath}.tmp`, p.stopPath)
    })

  /** The queue settings the supervisor sources before it waits (group, priority, the ids to wait for). */
  const writeQueue = (
    id: string,
    group: string | null,
    priority: number,
    after: { readonly jobs: ReadonlyArray<string>; readonly any: boolean } | null
  ) =>
    attempt("write queue settings", paths(id).dir, () => {
      const q = Shell.quote
      const text =
        `_jgroup=${q(group ?? "")}\n_jprio=${Math.trunc(priority)}\n` +
        `_jafter=${q((after?.jobs ?? []).join(" "))}\n_jafterany=${after?.any === true ? 1 : "''"}\n`
      Fs.writeFileSync(Path.join(paths(id).dir, "queue"), text, { mode: 0o600 })
    })

  /** The completion hooks the supervisor sources once the job has ended (fixed at submit). */
  const writeHooks = (id: string, name: string | null, job: string | null, config: string | null) =>
    attempt("write hooks", paths(id).dir, () => {
      const q = (v: string | null) => Shell.quote(v ?? "")
      const text = `_jname=${q(name)}\n_jhook_job=${q(job)}\n_jhook_config=${q(config)}\n`
      Fs.writeFileSync(Path.join(paths(id).dir, "hooks"), text, { mode: 0o600 })
    })

  /** fsyncs a job's log (after a batch of creates without sync). */
  const syncLog = (id: string) =>
    attempt("sync", paths(id).eventsPath, () => {
      const fd = RegularFile.openSync(paths(id).eventsPath)
      if (fd === undefined) return
      try {
        Fs.fsyncSync(fd)
      } finally {
        Fs.closeSync(fd)
      }
    })

  /** The output limit the supervisor's writer enforces. */
  const writeLimits = (id: string, maxLogBytes: number) =>
    attempt("write limits", paths(id).dir, () =>
      Fs.writeFileSync(Path.join(paths(id).dir, "limits"), `_jmaxlog=${Math.max(1, Math.floor(maxLogBytes))}\n`, {
        mode: 0o600
      })
    )

  return {
    home,
    syncLog,
    writeLimits,
    writeQueue,
    writeHooks,
    layout,
    paths,
    ensure,
    ids,
    read,
    load,
    nameOf,
    create,
    append,
    readEnv,
    claimKey,
    releaseKey,
    remove,
    writeStopRequest
  } as const
}

/** The JobStore service: one home's folders and files. */
export class JobStore extends Context.Tag("jobs/JobStore")<JobStore, ReturnType<typeof make>>() {}

/**
 * The store of a home.
 *
 * @example
 * Effect.provide(program, JobStore.layer("/tmp/jobs-home"))
 */
export const layer = (home: string): Layer.Layer<JobStore> => Layer.sync(JobStore, () => make(home))
