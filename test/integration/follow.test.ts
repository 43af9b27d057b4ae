// Follow: streams of a growing file from an offset, built on chokidar, that lose nothing — not the writes inside
// chokidar's 50 ms throttle window, and not the last lines written just before the end.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Codec, type Event, Follow } from "../../events/mod.ts"
import { tempDir } from "../support/cli.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("Follow.bytes", () => {
  it("delivers every write, in order, and ends only after draining what was written before done", async () => {
    const path = Path.join(tempDir(), "output.log")
    Fs.writeFileSync(path, "first\n")
    let done = false
    const collected = Effect.runPromise(
      Follow.bytes(path, { chunkSize: 7, done: Effect.sync(() => done) }).pipe(
        Follow.lines,
        Stream.runCollect,
        Effect.map(Chunk.toArray)
      )
    )
    await sleep(200)
    const expected = ["first"]
    for (let i = 0; i < 60; i++) {
      // bursts faster than chokidar's throttle window, and pauses longer than it
      Fs.appendFileSync(path, `line ${i}\n`)
      expected.push(`line ${i}`)
      if (i % 10 === 9) await sleep(70)
    }
    // the last lines land just before the end is declared, as a job's last output precedes its Exited event
    Fs.appendFileSync(path, "last words\n")
    expected.push("last words")
    done = true
    expect(await collected).toEqual(expected)
  })

  it("starts from an offset and reads a file that does not exist yet once it appears", async () => {
    const dir = tempDir()
    const path = Path.join(dir, "later.log")
    const fiber = Effect.runFork(
      Follow.bytes(path, { offset: 3 }).pipe(Follow.lines, Stream.take(2), Stream.runCollect)
    )
    await sleep(200)
    Fs.writeFileSync(path, "abcdef\nghi\n")
    const lines = Chunk.toArray(await Effect.runPromise(Fiber.join(fiber)))
    expect(lines).toEqual(["def", "ghi"])
  })
})

describe("Follow.events", () => {
  it("decodes appended events and skips garbage lines", async () => {
    const path = Path.join(tempDir(), "events.jsonl")
    const event = (n: number): Event.Event => ({
      type: "Interrupted",
      v: 1,
      id: `e${n}`,
      job: "01JAAAAAAAAAAAAAAAAAAAAAAA",
      at: new Date(0).toISOString(),
      reason: `r${n}`
    })
    Fs.writeFileSync(path, Codec.encodeLine(event(1)) + "garbage\n")
    const fiber = Effect.runFork(Follow.events(path).pipe(Stream.take(3), Stream.runCollect))
    await sleep(150)
    Fs.appendFileSync(path, Codec.encodeLine(event(2)))
    const third = Codec.encodeLine(event(3))
    // a line written in two pieces is decoded once whole
    Fs.appendFileSync(path, third.slice(0, 10))
    await sleep(50)
    Fs.appendFileSync(path, third.slice(10))
    const events = Chunk.toArray(await Effect.runPromise(Fiber.join(fiber)))
    expect(events.map((e) => e.id)).toEqual(["e1", "e2", "e3"])
  })
})
