// The all-jobs feed: every job's events as they are appended (new jobs included), each with a cursor to resume
// from, judged for liveness while it follows. Built on the per-job logs alone: no journal, no daemon.
//
// Design. The feed watches `jobs/` (new folders) and the logs of live and just-ended jobs, polls those every second
// and, every few seconds, stats every log (a "sweep": no descriptor is held, whatever the number of jobs). A cursor
// says where a reader stands without listing every job:
//
//   - `offsets`: the byte offset reached in the logs of the jobs that had recent events (stamped after `w`);
//   - `w` (and, while a replay is going through the jobs in id order, `steps`): for every other job, the feed has
//     given every event stamped at or before that time, and none stamped after it.
//
// Resuming reads a job of `offsets` from its offset and any other job's events stamped after its time. The feed
// keeps `w` a little behind its last complete sweep (LAG_MS), so an event stamped just before a sweep and written
// just after it is still "after w". Removed jobs simply drop out of the cursor; new ones are read from their start.

import * as Fs from "node:fs"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { Codec, Event, RegularFile } from "../events/mod.ts"
import * as Duration from "./duration.ts"
import { InvalidInput } from "./errors.ts"
import * as Home from "./home.ts"
import * as Ids from "./ids.ts"
import * as JobIndex from "./job_index.ts"
import * as JobState from "./job_state.ts"
import { makeDirs } from "./job_store.ts"

/** How far `w` trails the last complete sweep: longer than any write takes after its event was stamped. */
const LAG_MS = 10_000
/** How often the live logs are looked at again without a notification, and local liveness judged. */
const POLL_MS = 1000
/** How often, at least, every log in the home is looked at (and `w` moves on); longer when a sweep takes long. */
const SWEEP_MS = 5000
/** How long a job whose end was seen stays watched (late events: progress, downloads, release). */
const ENDED_WATCH_MS = 60_000
/** How often a job on another machine or behind a scheduler is judged (each is a round trip). */
const REMOTE_JUDGE_MS = 15_000

// -- cursors ---------------------------------------------------------------------------------------------------------

/** A position in the feed. */
export interface Cursor {
  /** For jobs with ids up to `bound` (the first step that applies) not in `offsets`: the time given up to. */
  readonly steps: ReadonlyArray<{ readonly bound: string; readonly w: number }>
  /** For the other jobs not in `offsets`: every event stamped at or before this time (ms) was given. */
  readonly w: number
  /** Byte offsets reached in the logs of jobs with recent events. */
  readonly offsets: ReadonlyMap<string, number>
}

const CURSOR_VERSION = "1"

/**
 * A cursor as text: `1`, then dot-separated parts: `w<time>`, `s<ID><time>` steps and `o<ID><offset>` offsets,
 * numbers in base 36. Only letters, digits and dots: safe in a file, a URL and a shell word.
 *
 * @example
 * Feed.encodeCursor({ steps: [], w: Date.now(), offsets: new Map() }) // "1.wm4x8d2k0"
 */
export const encodeCursor = (cursor: Cursor): string => {
  const parts = [CURSOR_VERSION, `w${Math.max(0, cursor.w).toString(36)}`]
  for (const s of cursor.steps) parts.push(`s${s.bound}${Math.max(0, s.w).toString(36)}`)
  for (const [id, offset] of [...cursor.offsets].sort(([a], [b]) => (a < b ? -1 : 1)))
    parts.push(`o${id}${offset.toString(36)}`)
  return parts.join(".")
}

/** A cursor's text read back; undefined when it is not one this build wrote. */
export const decodeCursor = (text: string): Cursor | undefined => {
  const parts = text.trim().split(".")
  if (parts[0] !== CURSOR_VERSION) return undefined
  let w: number | undefined
  const steps: Array<{ bound: string; w: number }> = []
  const offsets = new Map<string, number>()
  for (const part of parts.slice(1)) {
    const m = /^(?:w([0-9a-z]{1,12})|([so])([0-9A-HJKMNP-TV-Z]{26})([0-9a-z]{1,12}))$/.exec(part)
    if (m === null) return undefined
    if (m[1] !== undefined) w = Number.parseInt(m[1], 36)
    else if (m[2] === "s") steps.push({ bound: m[3]!, w: Number.parseInt(m[4]!, 36) })
    else offsets.set(m[3]!, Number.parseInt(m[4]!, 36))
  }
  return w === undefined ? undefined : { steps, w, offsets }
}

/** Where a feed starts: a cursor, a time (ms: events stamped after it), or "now". */
export type Since =
  | { readonly _tag: "Cursor"; readonly cursor: Cursor }
  | { readonly _tag: "Time"; readonly ms: number }
  | { readonly _tag: "Now" }
  | { readonly _tag: "Start" }

/**
 * `--since` as typed: a cursor, an ISO-8601 time, or a duration ago ("10m", "2h").
 *
 * @example
 * Feed.parseSince("1h") // events stamped in the last hour
 */
export const parseSince = (text: string, now = Date.now()): Effect.Effect<Since, InvalidInput> => {
  const cursor = decodeCursor(text)
  if (cursor !== undefined) return Effect.succeed({ _tag: "Cursor", cursor })
  const secs = Duration.parseSeconds(text)
  if (secs !== undefined) return Effect.succeed({ _tag: "Time", ms: now - secs * 1000 })
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  if (!Number.isNaN(ms)) return Effect.succeed({ _tag: "Time", ms })
  return Effect.fail(
    new InvalidInput({
      message: `Cannot read --since "${text}": not a cursor, an ISO-8601 time or a duration (10m, 2h)`
    })
  )
}

/** Every event type of the schema (for `--type`). */
export const EVENT_TYPES: ReadonlyArray<string> = Event.Event.members.map((m) => m.fields.type.literals[0])

// -- items -----------------------------------------------------------------------------------------------------------

/** One line of the feed: the event as its log has it (decoded, re-encoded), which job, and where the feed stands. */
export interface Item {
  /** Save it; `--since CURSOR` (or `since: { _tag: "Cursor" }`) goes on right after this event. */
  readonly cursor: string
  readonly job: {
    readonly id: string
    readonly shortId: string
    readonly name: string | null
    readonly project: string | null
    /** The job's status once this event is folded in. */
    readonly status: JobState.Status
    /** The job's folder (its events.jsonl, output.log). */
    readonly dir: string
  }
  readonly event: Event.Event
}

/**
 * An item as one JSON line (with its `\n`): `{"cursor":…,"job":{…},"event":{…}}`, the event encoded by the schema.
 *
 * @example
 * Stream.runForEach(jobs.feed({ follow: true }), (item) => Effect.sync(() => process.stdout.write(Feed.encodeItem(item))))
 */
export const encodeItem = (item: Item): string =>
  `{"cursor":${JSON.stringify(item.cursor)},"job":${JSON.stringify(item.job)},"event":${Codec.encodeLine(item.event).slice(0, -1)}}\n`

// -- the feed --------------------------------------------------------------------------------------------------------

export interface Options {
  /** Go on with new events (new jobs included) until interrupted; without it the feed ends after what is there. */
  readonly follow?: boolean | undefined
  /** Where to start. Default: "now" when following, else the start of every log. */
  readonly since?: Since | undefined
  /** Only events of these types. */
  readonly types?: ReadonlyArray<string> | undefined
  /** Only events after which their job has one of these statuses. */
  readonly statuses?: ReadonlyArray<JobState.Status> | undefined
  /** Only events of jobs of this project. */
  readonly project?: string | undefined
  /** Only events of these job ids. */
  readonly jobs?: ReadonlyArray<string> | undefined
}

/** What the feed needs from the Jobs service: the home, and the judgement of a job (records Interrupted once). */
export interface Deps {
  readonly layout: Home.Layout
  readonly judge: (id: string) => Effect.Effect<unknown>
}

interface Tracked {
  /** Bytes consumed: whole lines only. */
  offset: number
  /** The size and mtime of the log when last looked at. */
  size: number
  /** The state folded over the consumed lines; undefined when not folded (an ended job read in a quick way). */
  state: JobState.JobState | undefined
  /** The latest `at` (ms) among the consumed events. */
  maxAt: number
  live: boolean
  /** Since when (ms) the feed knows the job ended; 0 while it runs. */
  endedSeen: number
  nextJudge: number
  watched: boolean
}

const LOCAL_KINDS = new Set(["local", "tmux"])

const atOf = (event: Event.Event): number => Date.parse(event.at) || 0

/** The lines of a chunk that end with `\n`, each with the offset just after it. */
const completeLines = (bytes: Buffer, base: number): Array<{ line: string; end: number }> => {
  const out: Array<{ line: string; end: number }> = []
  let start = 0
  for (let nl = bytes.indexOf(10, start); nl >= 0; nl = bytes.indexOf(10, start)) {
    out.push({ line: bytes.subarray(start, nl).toString("utf8"), end: base + nl + 1 })
    start = nl + 1
  }
  return out
}

/** A log's size and mtime without opening it; undefined when it is missing or not a regular file. */
const statLog = (path: string): { size: number; mtimeMs: number } | undefined => {
  try {
    const st = Fs.lstatSync(path)
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined
  } catch {
    return undefined
  }
}

const listJobs = (dir: string): Array<string> => {
  try {
    return Fs.readdirSync(dir).filter(Ids.isId).sort()
  } catch {
    return []
  }
}

/**
 * The feed of every job's events. With `follow`, it goes on forever (new jobs included) and judges the liveness of
 * the jobs it follows, so a supervisor that vanished shows up as an Interrupted event within seconds. Holds no
 * descriptor per job: logs are read and closed, and watched through one inotify instance.
 */
export const stream = (deps: Deps, options: Options = {}): Stream.Stream<Item> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const { layout } = deps
      const follow = options.follow === true
      const since: Since = options.since ?? (follow ? { _tag: "Now" } : { _tag: "Start" })
      const started = Date.now()
      const given: Cursor =
        since._tag === "Cursor"
          ? since.cursor
          : { steps: [], w: since._tag === "Time" ? since.ms : since._tag === "Now" ? started : -1, offsets: new Map() }
      const types = options.types === undefined ? undefined : new Set(options.types)
      const statuses = options.statuses === undefined ? undefined : new Set(options.statuses)
      const only = options.jobs === undefined ? undefined : new Set(options.jobs)

      const tracked = new Map<string, Tracked>()
      /** The live and just-ended jobs: read at every poll, judged, watched. */
      const hot = new Set<string>()
      /** Given offsets of jobs the first sweep has not reached yet. */
      const pinned = new Map(given.offsets)
      /** Jobs with consumed events stamped after their time: they go into cursors with their offsets. */
      const recent = new Set<string>()
      // the time of jobs not in `offsets`: during the first sweep, those up to `frontier` were read at or after
      // `started`; the others keep the given cursor's times
      let w = given.w
      let frontier: string | undefined
      let steps = given.steps
      const ruleOf = (id: string): number => {
        for (const s of steps) if (id <= s.bound) return s.w
        return w
      }
      const cursor = (): string => {
        const offsets = new Map(pinned)
        for (const id of recent) {
          const t = tracked.get(id)
          if (t !== undefined) offsets.set(id, t.offset)
        }
        // a live job on another machine: its mirrored events carry that machine's times, so its offset is kept
        for (const id of hot) {
          const t = tracked.get(id)
          if (t === undefined) continue
          if (t.live && t.state !== undefined && !LOCAL_KINDS.has(t.state.spec?.executor ?? "local")) {
            offsets.set(id, t.offset)
          }
        }
        return encodeCursor({ steps, w, offsets })
      }

      const index = JobIndex.load(layout)
      const paths = (id: string) => Home.jobPaths(layout, id)
      // in the sweep's loop over every job: one string, not a job's five paths
      const eventsOf = (id: string) => `${layout.jobs}/${id}/events.jsonl`

      // -- watching (following only): the jobs folder (new folders) and the logs of live and just-ended jobs, through
      // Node's fs.watch: one inotify instance for all of them, not a descriptor each
      const wake = yield* Queue.sliding<void>(1)
      const dirty = new Set<string>()
      let dirChanged = true
      const watchers = new Map<string, Fs.FSWatcher>()
      if (follow) {
        makeDirs(layout.jobs)
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            const watcher = Fs.watch(layout.jobs, { persistent: true }, () => {
              dirChanged = true
              Queue.unsafeOffer(wake, undefined)
            })
            // the folder gone (a home removed under the feed): the polls go on
            watcher.on("error", () => undefined)
            return watcher
          }),
          (watcher) => Effect.sync(() => watcher.close())
        )
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const w of watchers.values()) w.close()
            watchers.clear()
          })
        )
      }
      const setWatched = (id: string, t: Tracked, on: boolean) => {
        if (!follow || t.watched === on) return
        t.watched = on
        if (!on) {
          watchers.get(id)?.close()
          watchers.delete(id)
          return
        }
        try {
          const watcher = Fs.watch(eventsOf(id), { persistent: true }, () => {
            dirty.add(id)
            Queue.unsafeOffer(wake, undefined)
          })
          watcher.on("error", () => {
            watcher.close()
            watchers.delete(id)
          })
          watchers.set(id, watcher)
        } catch {
          // no log yet, or no watch left (fs.inotify.max_user_watches): the poll reads it
        }
      }

      const foldPrefix = (id: string, t: Tracked) => {
        if (t.state !== undefined) return t.state
        let state = JobState.initial(id)
        const bytes = readLog(id, 0, t.offset)
        for (const { line } of completeLines(bytes, 0)) {
          const event = Codec.decodeLine(line)
          if (event === undefined || event.job !== id) continue
          state = JobState.evolve(state, event)
          t.maxAt = Math.max(t.maxAt, atOf(event))
        }
        t.state = state
        return state
      }

      const readLog = (id: string, from: number, to = Number.POSITIVE_INFINITY): Buffer => {
        try {
          return RegularFile.readSync(eventsOf(id), from, to - from) ?? Buffer.alloc(0)
        } catch {
          return Buffer.alloc(0)
        }
      }

      /** Consumes a job's whole lines from its offset; emits the events stamped after `after` (all when undefined). */
      const consume = (id: string, t: Tracked, out: Array<Item>, after?: number) => {
        const bytes = readLog(id, t.offset)
        if (bytes.length === 0) return
        let state = foldPrefix(id, t)
        for (const { line, end } of completeLines(bytes, t.offset)) {
          t.offset = end
          const event = Codec.decodeLine(line)
          // only decoded events about this very job: a job's code can write into its own log
          if (event === undefined || event.job !== id) continue
          state = JobState.evolve(state, event)
          t.state = state
          const at = atOf(event)
          if (at > t.maxAt) t.maxAt = at
          if (t.maxAt > ruleOf(id)) recent.add(id)
          if (after !== undefined && at <= after) continue
          if (types !== undefined && !types.has(event.type)) continue
          if (statuses !== undefined && !statuses.has(state.status)) continue
          if (options.project !== undefined && state.spec?.project !== options.project) continue
          if (only !== undefined && !only.has(id)) continue
          out.push({
            cursor: cursor(),
            job: {
              id,
              shortId: Ids.shortId(id),
              name: state.spec?.name ?? null,
              project: state.spec?.project ?? null,
              status: state.status,
              dir: paths(id).dir
            },
            event
          })
        }
        const live = !JobState.isTerminal(state.status)
        if (t.live && !live) t.endedSeen = Date.now()
        t.live = live
        hot.add(id)
      }

      /** A job seen for the first time: where it starts, and what of it is news. */
      const discover = (id: string, out: Array<Item>, first: boolean) => {
        const st = statLog(eventsOf(id))
        const t: Tracked = {
          offset: 0,
          size: st?.size ?? 0,
          state: undefined,
          maxAt: Number.NEGATIVE_INFINITY,
          live: true,
          endedSeen: 0,
          nextJudge: 0,
          watched: false
        }
        tracked.set(id, t)
        const at = pinned.get(id)
        if (at !== undefined) {
          pinned.delete(id)
          t.offset = at
          foldPrefix(id, t)
          consume(id, t, out)
        } else if (!first) {
          // appeared after the feed looked: everything in it is news
          consume(id, t, out)
        } else {
          const rule = ruleOf(id)
          const ended = index.get(id)
          if (ended !== undefined && st !== undefined && st.mtimeMs <= rule) {
            // an ended job whose log was last written before the start: nothing of it is news
            t.offset = lineEnd(id, st.size)
            t.live = false
          } else consume(id, t, out, rule)
        }
        if (t.maxAt > ruleOf(id)) recent.add(id)
        if (t.live || (t.endedSeen > 0 && Date.now() - t.endedSeen < ENDED_WATCH_MS)) {
          hot.add(id)
          setWatched(id, t, true)
        } else hot.delete(id)
      }

      /** The offset just after the last whole line within the first `size` bytes. */
      const lineEnd = (id: string, size: number): number => {
        const tail = readLog(id, Math.max(0, size - 1), size)
        if (tail.length === 1 && tail[0] === 10) return size
        const bytes = readLog(id, 0, size)
        return bytes.lastIndexOf(10) + 1
      }

      /** Reads what grew; `all`: every job (a sweep), else the live, just-ended and notified ones. */
      const look = (out: Array<Item>, all: boolean) => {
        const now = Date.now()
        if (all || dirChanged) {
          dirChanged = false
          const ids = listJobs(layout.jobs)
          const present = new Set(ids)
          for (const [id, t] of tracked) {
            if (!present.has(id)) {
              setWatched(id, t, false)
              tracked.delete(id)
              recent.delete(id)
              hot.delete(id)
            }
          }
          for (const id of ids) if (!tracked.has(id)) discover(id, out, false)
        }
        for (const id of all ? tracked.keys() : new Set([...hot, ...dirty])) {
          const t = tracked.get(id)
          if (t === undefined) continue
          const watchedNow = t.live || now - t.endedSeen < ENDED_WATCH_MS
          const st = statLog(eventsOf(id))
          if (st === undefined) continue
          if (st.size > t.offset) consume(id, t, out)
          t.size = st.size
          if (!t.live && !watchedNow) {
            hot.delete(id)
            setWatched(id, t, false)
            // an ended job's state is folded again if it ever grows: only its offset is kept
            t.state = undefined
          }
        }
        dirty.clear()
      }

      /** Judges the live jobs that are due (a vanished supervisor is recorded as Interrupted), then reads them. */
      const judge = (out: Array<Item>) =>
        Effect.gen(function* () {
          const now = Date.now()
          const due: Array<string> = []
          for (const id of hot) {
            const t = tracked.get(id)
            if (t === undefined || !t.live || t.nextJudge > now) continue
            const kind = t.state?.spec?.executor ?? "local"
            t.nextJudge = now + (LOCAL_KINDS.has(kind) ? POLL_MS : REMOTE_JUDGE_MS)
            due.push(id)
          }
          yield* Effect.forEach(due, (id) => Effect.ignore(deps.judge(id)), { concurrency: 4, discard: true })
          for (const id of due) {
            const t = tracked.get(id)
            if (t !== undefined) consume(id, t, out)
          }
        })

      // -- the first sweep: in id order, so a cursor taken half-way says which jobs it has reached
      let firstDone = false
      const firstSweep = Effect.sync(() => {
        const out: Array<Item> = []
        const sweepStart = Date.now()
        const ids = listJobs(layout.jobs)
        const initialSteps = given.steps
        const after = sweepStart - LAG_MS
        const ended: Array<readonly [string, JobIndex.Entry]> = []
        for (const id of ids) {
          // jobs up to this one are read as of now; the others keep the given times
          discover(id, out, true)
          const d = tracked.get(id)!
          if (!d.live && d.state !== undefined && !d.watched) {
            // an ended job's state is not kept (it is folded again if its log ever grows); the index learns of it
            const entry = JobIndex.entryOf(d.state)
            if (entry !== undefined && !index.has(id)) ended.push([id, entry])
            d.state = undefined
          }
          frontier = id
          steps = [{ bound: frontier, w: after }, ...initialSteps.filter((s) => s.bound > id)]
          // a job's recent membership is judged against the time that now applies to it
          const t = tracked.get(id)!
          if (t.maxAt <= ruleOf(id)) recent.delete(id)
          else recent.add(id)
        }
        // every job has been read at or after sweepStart
        steps = []
        w = Math.max(given.w, after)
        for (const id of recent) if ((tracked.get(id)?.maxAt ?? 0) <= w) recent.delete(id)
        // a given offset of a job that is gone is dropped
        pinned.clear()
        JobIndex.append(layout, ended)
        firstDone = true
        return out
      })

      if (!follow) return Stream.fromIterable(yield* firstSweep)

      let lastSweep = Date.now()
      let sweepEvery = SWEEP_MS
      let lastPoll = 0
      const step: Effect.Effect<ReadonlyArray<Item>> = Effect.gen(function* () {
        if (!firstDone) return yield* firstSweep
        const sinceTick = Date.now() - lastPoll
        yield* Queue.take(wake).pipe(Effect.timeoutOption(Math.max(1, POLL_MS - sinceTick)))
        const out: Array<Item> = []
        const now = Date.now()
        if (now - lastSweep >= sweepEvery) {
          const sweepStart = now
          look(out, true)
          lastSweep = sweepStart
          // a sweep costs in proportion to the jobs in the home: at most ~1% of a CPU, however many there are
          sweepEvery = Math.max(SWEEP_MS, (Date.now() - sweepStart) * 100)
          const next = sweepStart - LAG_MS
          if (next > w) {
            w = next
            for (const id of recent) if ((tracked.get(id)?.maxAt ?? 0) <= w) recent.delete(id)
          }
        } else look(out, false)
        if (now - lastPoll >= POLL_MS) {
          lastPoll = now
          yield* judge(out)
        }
        return out
      })
      return Stream.repeatEffect(step).pipe(Stream.flattenIterables)
    })
  )
