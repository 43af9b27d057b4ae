// The JobStore service: a home's folders and files (DESIGN §3). Every write is 0600, every folder 0700.

import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Codec, type Event, EventLog, RegularFile } from "../events/mod.ts"
import { makeDirs } from "./dirs.ts"
import * as EnvFile from "./env_file.ts"
import { StorageError } from "./errors.ts"
import * as Home from "./home.ts"
import * as Ids from "./ids.ts"
import * as JobState from "./job_state.ts"
import * as Process from "./process.ts"
import * as Shell from "./shell.ts"

/** A job read from its log. */
export interface Loaded {
  readonly state: JobState.JobState
  readonly paths: Home.JobPaths
  /** Undecodable lines skipped in the log. */
  readonly skipped: number
  /** The highest schema version above this build's in the log (its lines are left out), else 0. */
  readonly newer: number
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

/** Re-exported: the readers of the home that must stay small (shell completion) import it from dirs.ts. */
export { makeDirs } from "./dirs.ts"

/** The dot-name prefix of a job folder being built, and of one being removed: readers never list either. */
const BUILDING = ".tmp-"
const REMOVING = ".trash-"

/** A folder's names, none when it cannot be read. */
const safeList = (dir: string): Array<string> => {
  try {
    return Fs.readdirSync(dir)
  } catch {
    return []
  }
}

/** fsyncs a folder, so that a rename in it reaches the disk. Best effort: not every file system allows it. */
const syncDir = (dir: string): void => {
  try {
    const fd = Fs.openSync(dir, "r")
    try {
      Fs.fsyncSync(fd)
    } finally {
      Fs.closeSync(fd)
    }
  } catch {
    // a file system without directory fsync: the rename is as durable as it gets
  }
}

/** The queue settings the supervisor sources before it waits (group, priority, the ids to wait for): file `queue`. */
export const queueFile = (
  group: string | null,
  priority: number,
  after: { readonly jobs: ReadonlyArray<string>; readonly any: boolean } | null
): readonly [string, string] => {
  const q = Shell.quote
  return [
    "queue",
    `_jgroup=${q(group ?? "")}\n_jprio=${Math.trunc(priority)}\n` +
      `_jafter=${q((after?.jobs ?? []).join(" "))}\n_jafterany=${after?.any === true ? 1 : "''"}\n`
  ]
}

/** The completion hooks the supervisor sources once the job has ended (fixed at submit): file `hooks`. */
export const hooksFile = (
  name: string | null,
  job: string | null,
  config: string | null
): readonly [string, string] => {
  const q = (v: string | null) => Shell.quote(v ?? "")
  return ["hooks", `_jname=${q(name)}\n_jhook_job=${q(job)}\n_jhook_config=${q(config)}\n`]
}

/** The output limit the supervisor's writer enforces: file `limits`. */
export const limitsFile = (maxLogBytes: number): readonly [string, string] => [
  "limits",
  `_jmaxlog=${Math.max(1, Math.floor(maxLogBytes))}\n`
]

/** Who holds an idempotency key: the job id, and the process that claimed it (null in older key files). */
export interface KeyClaim {
  readonly owner: string
  readonly claimant: Process.Identity | null
}

/** A key file's text: `ID PID START_TIME BOOT_ID`, or only the id (older files). */
const parseClaim = (text: string): KeyClaim => {
  const [owner = "", pid, startTime, bootId] = text.trim().split(/\s+/)
  const claimant =
    pid !== undefined && startTime !== undefined && bootId !== undefined
      ? { pid: Number(pid), startTime: Number(startTime), bootId }
      : null
  return { owner, claimant }
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

  /**
   * Every job id in the home, oldest first (ULIDs sort by time). A home not made yet has none; a home that is a
   * file, or cannot be read, is an error (never "no jobs").
   */
  const ids = Effect.suspend(() => {
    let names: Array<string>
    try {
      names = Fs.readdirSync(layout.jobs)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code !== "ENOENT") return Effect.fail(new StorageError({ action: "read home", path: layout.home, cause: e }))
      // no jobs folder: fine in a new home, not when the home itself is a file
      try {
        if (!Fs.statSync(layout.home).isDirectory())
          return Effect.fail(new StorageError({ action: "read home", path: layout.home, cause: { code: "ENOTDIR" } }))
      } catch {
        // no home yet
      }
      return Effect.succeed([] as Array<string>)
    }
    return Effect.succeed(names.filter(Ids.isId).sort())
  })

  const load = (id: string): Loaded => {
    const p = paths(id)
    const replayed = EventLog.replaySync(p.eventsPath)
    const state = JobState.fold(id, replayed.events)
    return {
      state,
      paths: p,
      skipped: replayed.skipped,
      newer: replayed.newer,
      damaged: damageOf(id, p, replayed, state)
    }
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

  /**
   * Creates a job's folder whole: its 0600 env file, its log with Submitted, and the other files the supervisor
   * reads (`files`: name and text), built under a dot-name that readers skip and renamed into place. A submit that
   * fails half-way (a full disk) leaves nothing that lists.
   */
  const create = (
    submitted: Event.Event & { type: "Submitted" },
    env: Readonly<Record<string, string>> | string,
    options: { readonly sync?: boolean; readonly files?: ReadonlyArray<readonly [string, string]> } = {}
  ) =>
    Effect.gen(function* () {
      const p = paths(submitted.job)
      const building = Path.join(layout.jobs, `${BUILDING}${submitted.job}`)
      const inside = Home.jobPaths({ ...layout, jobs: building }, "")
      yield* attempt("create job folder", p.dir, () => {
        try {
          Fs.mkdirSync(building, { mode: 0o700 })
          Fs.writeFileSync(inside.envPath, typeof env === "string" ? env : EnvFile.render(env), {
            mode: 0o600,
            flag: "wx"
          })
          for (const [name, text] of options.files ?? []) {
            Fs.writeFileSync(Path.join(building, name), text, { mode: 0o600, flag: "wx" })
          }
          EventLog.appendSync(inside.eventsPath, [submitted], options)
          Fs.renameSync(building, p.dir)
        } catch (e) {
          Fs.rmSync(building, { recursive: true, force: true })
          throw e
        }
        // the rename reaches the disk with the log: a job `run` reported survives a crash
        if (options.sync !== false) syncDir(layout.jobs)
      })
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
   * whole (written aside, then hard-linked, which fails if the name exists), so a loser always reads an id. It
   * names the claimant too (pid, start time, boot id), so that a claim whose winner was killed before its job
   * came to be is told at once. Returns the owner's id (the given one when this call won) and its claimant.
   */
  const claimKey = (key: string, id: string, claimant: Process.Identity) =>
    attempt("claim key in", layout.keys, (): KeyClaim => {
      const file = keyFile(layout, key)
      const tmp = `${file}.${id}.tmp`
      Fs.writeFileSync(tmp, `${id} ${claimant.pid} ${claimant.startTime} ${claimant.bootId}\n`, { mode: 0o600 })
      try {
        Fs.linkSync(tmp, file)
        Process.testPause("claimed")
        return { owner: id, claimant }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        return parseClaim(Fs.readFileSync(file, "utf8"))
      } finally {
        Fs.rmSync(tmp, { force: true })
      }
    })

  /** Frees a key if (and only if) it still belongs to this job, and what its killed claimant left aside. */
  const releaseKey = (key: string, id: string) =>
    attempt("release key in", layout.keys, () => {
      const file = keyFile(layout, key)
      Fs.rmSync(`${file}.${id}.tmp`, { force: true })
      try {
        if (parseClaim(Fs.readFileSync(file, "utf8")).owner === id) Fs.rmSync(file, { force: true })
      } catch {
        // no key file: nothing to free
      }
    })

  /**
   * Deletes a job's folder: first renamed out of sight (a dot-name readers skip), then deleted, so that a reader
   * never sees it half-removed.
   */
  const remove = (id: string) =>
    attempt("remove job folder", paths(id).dir, () => {
      const doomed = Path.join(layout.jobs, `${REMOVING}${id}-${Crypto.randomBytes(4).toString("hex")}`)
      try {
        Fs.renameSync(paths(id).dir, doomed)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return
        throw e
      }
      try {
        Fs.rmSync(doomed, { recursive: true, force: true })
      } catch (e) {
        // a damaged folder may have lost its permissions: it is ours, so it gets them back to be removed
        if ((e as NodeJS.ErrnoException).code !== "EACCES" || !Fs.lstatSync(doomed).isDirectory()) throw e
        Fs.chmodSync(doomed, 0o700)
        Fs.rmSync(doomed, { recursive: true, force: true })
      }
    })

  /**
   * Deletes what a killed `run` or `rm` left under a dot-name in jobs/: folders being removed, and folders being
   * built that are older than a minute (a submit takes milliseconds). Best effort: nothing lists them anyway.
   */
  const sweep = Effect.sync(() => {
    // a key claimed aside by a process killed before it linked or removed it
    for (const name of safeList(layout.keys)) {
      if (!name.endsWith(".tmp")) continue
      const path = Path.join(layout.keys, name)
      try {
        const { claimant } = parseClaim(Fs.readFileSync(path, "utf8"))
        if (claimant === null ? Date.now() - Fs.statSync(path).mtimeMs > 60_000 : !Process.isAlive(claimant))
          Fs.rmSync(path, { force: true })
      } catch {
        // gone already
      }
    }
    let names: Array<string>
    try {
      names = Fs.readdirSync(layout.jobs)
    } catch {
      return
    }
    for (const name of names) {
      const dir = Path.join(layout.jobs, name)
      try {
        if (name.startsWith(REMOVING) || (name.startsWith(BUILDING) && Date.now() - Fs.statSync(dir).mtimeMs > 60_000))
          Fs.rmSync(dir, { recursive: true, force: true })
      } catch {
        // gone already, or not ours to delete
      }
    }
  })

  /** Writes the stop request the supervisor reads when signalled. */
  const writeStopRequest = (id: string, signal: string, graceSecs: number) =>
    attempt("write stop request", paths(id).stopPath, () => {
      const p = paths(id)
      Fs.writeFileSync(`${p.stopPath}.tmp`, `${signal.replace(/^SIG/, "")} ${Math.ceil(graceSecs)}\n`, { mode: 0o600 })
      Fs.renameSync(`${p.stopPath}.tmp`, p.stopPath)
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

  return {
    home,
    syncLog,
    syncJobs: Effect.sync(() => syncDir(layout.jobs)),
    sweep,
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
export const layer = (home: string): Layer.Layer<JobStore> => {
  // a relative home is resolved now, once (not when the layer is built, after the app may have changed directory)
  const absolute = Path.resolve(home)
  return Layer.sync(JobStore, () => make(absolute))
}
