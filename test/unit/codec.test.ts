// The JSONL codec and the checked-in JSON Schema: lines round-trip, bad lines are skipped, the schema never drifts.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import type { Event } from "../../events/mod.ts"
import { Codec, JsonSchema } from "../../events/mod.ts"

const exited: Event.Event = {
  type: "Exited",
  v: 1,
  id: "x1",
  job: "01JAAAAAAAAAAAAAAAAAAAAAAA",
  at: "2026-01-01T00:00:00.000Z",
  code: 0,
  signal: null
}

describe("Codec", () => {
  it("writes one line with type first, and reads it back", () => {
    const line = Codec.encodeLine(exited)
    expect(line.endsWith("\n")).toBe(true)
    expect(line.split("\n").length).toBe(2)
    expect(line.startsWith('{"type":"Exited"')).toBe(true)
    expect(Codec.decodeLine(line.trimEnd())).toEqual(exited)
  })
  it("leaves an unterminated last line for later and skips garbage", () => {
    const good = Codec.encodeLine(exited)
    const text = good + "not json\n" + '{"type":"Nope"}\n' + good + good.slice(0, 20)
    const decoded = Codec.decodeChunk(Buffer.from(text))
    expect(decoded.events.length).toBe(2)
    expect(decoded.skipped).toBe(2)
    expect(decoded.consumed).toBe(text.length - 20)
  })
  it("decodes nothing from a chunk without a newline", () => {
    expect(Codec.decodeChunk(Buffer.from('{"type":'))).toEqual({ events: [], skipped: 0, newer: 0, consumed: 0 })
  })
  it("never reads an event of a newer schema version as one of its own: it reports the version instead", () => {
    const good = Codec.encodeLine(exited)
    const v99 = JSON.stringify({ ...exited, v: 99, id: "x2", code: 3 })
    const decoded = Codec.decodeChunk(Buffer.from(`${good}${v99}\n`))
    expect(decoded.events).toEqual([exited])
    expect(decoded.newer).toBe(99)
    expect(decoded.skipped).toBe(0)
    expect(Codec.decodeLine(v99)).toBeUndefined()
  })
})

describe("events/schema.json", () => {
  it("is what the event schema generates (run `npm run schema` after changing events)", () => {
    const checkedIn = Fs.readFileSync(Path.resolve(import.meta.dirname, "../../events/schema.json"), "utf8")
    expect(checkedIn).toBe(JsonSchema.render())
  })
})
