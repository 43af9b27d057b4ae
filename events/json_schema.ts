// The JSON Schema of one event line, generated from the Effect Schema (checked in as events/schema.json).
import * as JSONSchema from "effect/JSONSchema"
import * as Event from "./event.ts"

/** The JSON Schema document for a line of events.jsonl. */
export const make = (): object => JSONSchema.make(Event.Event)

/** The checked-in text: pretty JSON with a trailing newline. */
export const render = (): string => JSON.stringify(make(), null, 2) + "\n"
