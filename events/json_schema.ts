// The JSON Schema of one event line, generated from the Effect Schema (checked in as events/schema.json).
import * as JSONSchema from "effect/JSONSchema"
import * as Event from "./event.ts"

/**
 * A generated document with every object left open to new fields (Effect writes `additionalProperties: false`):
 * fields only ever grow, so a reader validating with yesterday's schema must accept today's lines.
 */
export const openObjects = <A>(document: A): A => {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (node === null || typeof node !== "object") return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      if (k === "additionalProperties" && v === false) continue
      out[k] = walk(v)
    }
    return out
  }
  return walk(document) as A
}

/** The JSON Schema document for a line of events.jsonl. */
export const make = (): object => openObjects(JSONSchema.make(Event.Event))

/** The checked-in text: pretty JSON with a trailing newline. */
export const render = (): string => JSON.stringify(make(), null, 2) + "\n"
