// Following files as they grow: change ticks from chokidar, and Streams of bytes and events from an offset.

import { watch } from "chokidar"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Codec from "./codec.ts"
import type * as Event from "./event.ts"
import * as RegularFile from "./regular_file.ts"

/** How often a follower re-reads even without a change notification (a safety net, not the mechanism). */
const SAFETY_POLL_MS = 1000

/**
 * chokidar emits at most one change event per path every 50 ms and drops the rest, with no trailing event: a
 * write just after a notified one would be seen only at the safety poll. So for that window after every
 * notification the follower looks again every few milliseconds.
 */
const TRAILING_MS = 60
const TRAILING_POLL_MS = 4

/** Notifications that one of some paths changed. */
export interface Changes {
  /**
   * Waits until something may have changed: a notification, the end of chokidar's throttle window after the
   * last one, or the safety poll, whichever comes first.
   */
  readonly next: Effect.Effect<void>
}

/**
 * Watches `paths` for the life of the scope. The watcher is ready when this returns, so a write that happens
 * after it is never missed.
 */
export const changes = (paths: ReadonlyArray<string>): Effect.Effect<Changes, never, Scope.Scope> =>
  Effect.gen(function* () {
    const ticks = yield* Queue.sliding<void>(1)
    yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof watch>>((resume) => {
        const watcher = watch([...paths], { ignoreInitial: true, persistent: true, atomic: false })
        watcher.on("all", () => Queue.unsafeOffer(ticks, undefined))
        watcher.on("error", () => Queue.unsafeOffer(ticks, undefined))
        watcher.once("ready", () => resume(Effect.succeed(watcher)))
      }),
      (watcher) => Effect.promise(() => watcher.close())
    )
    let lastTick = 0
    const next = Effect.suspend(() => {
      const sinceTick = Date.now() - lastTick
      const wait = sinceTick < TRAILING_MS ? Math.min(TRAILING_POLL_MS, TRAILING_MS - sinceTick) : SAFETY_POLL_MS
      return Queue.take(ticks).pipe(
        Effect.timeoutOption(wait),
        Effect.flatMap((tick) =>
          Effect.sync(() => {
            if (Option.isSome(tick)) lastTick = Date.now()
          })
        )
      )
    })
    return { next }
  })

export interface FollowOptions {
  /** Byte offset to start from. */
  readonly offset?: number
  /** Bytes per emitted chunk at most; memory stays bounded by it whatever the file's size. */
  readonly chunkSize?: number
  /**
   * When set, the stream ends once this says true and everything written before has been read. Without it the
   * stream follows forever.
   */
  readonly done?: Effect.Effect<boolean>
  /** Extra paths whose changes should wake the follower (e.g. the events log that says when a job ended). */
  readonly alsoWatch?: ReadonlyArray<string>
}

/** Bytes at an offset: 0 while the file does not exist; a file that is not a regular one fails the stream. */
const readAt = (path: string, buffer: Buffer, offset: number): Effect.Effect<number, RegularFile.Unreadable> =>
  Effect.try({
    try: () => RegularFile.readIntoSync(path, buffer, offset),
    catch: (e) => (e instanceof RegularFile.Unreadable ? e : new RegularFile.Unreadable({ path, reason: String(e) }))
  })

/**
 * The bytes of a file from an offset, as it grows. Chunks are pulled one at a time, so a consumer that writes
 * slowly keeps memory at one chunk.
 *
 * @example
 * Follow.bytes(logPath, { offset: 0, done: jobEnded }).pipe(Stream.runForEach(write))
 */
export const bytes = (path: string, options: FollowOptions = {}): Stream.Stream<Uint8Array, RegularFile.Unreadable> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const changed = yield* changes([path, ...(options.alsoWatch ?? [])])
      const buffer = Buffer.allocUnsafe(options.chunkSize ?? 64 * 1024)
      let offset = options.offset ?? 0
      let finishing = false
      const pull: Effect.Effect<Uint8Array, Option.Option<RegularFile.Unreadable>> = Effect.suspend(() =>
        Effect.flatMap(Effect.mapError(readAt(path, buffer, offset), Option.some), (n) => {
          if (n > 0) {
            offset += n
            return Effect.succeed(Uint8Array.prototype.slice.call(buffer, 0, n))
          }
          if (finishing) return Effect.fail(Option.none())
          if (options.done === undefined) return Effect.zipRight(changed.next, pull)
          return Effect.flatMap(options.done, (done) => {
            if (done) {
              // everything the job wrote is in the file before its end is logged: one more read drains it
              finishing = true
              return pull
            }
            return Effect.zipRight(changed.next, pull)
          })
        })
      )
      return Stream.repeatEffectOption(pull)
    })
  )

/** Splits a byte stream into complete lines (without `\n`); an unterminated tail waits for its end. */
export const lines = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    let pending: Buffer = Buffer.alloc(0)
    return self.pipe(
      Stream.mapConcat((chunk) => {
        const joined = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk])
        const end = joined.lastIndexOf(10)
        if (end < 0) {
          pending = joined
          return []
        }
        pending = joined.subarray(end + 1)
        return joined.subarray(0, end).toString("utf8").split("\n")
      })
    )
  })

/**
 * The events of a log from a byte offset, as they are appended. Undecodable lines are skipped. Follows forever:
 * end it with `Stream.takeUntil`.
 */
export const events = (path: string, offset = 0): Stream.Stream<Event.Event, RegularFile.Unreadable> =>
  bytes(path, { offset }).pipe(
    lines,
    Stream.filterMap((line) => Option.fromNullable(Codec.decodeLine(line)))
  )
