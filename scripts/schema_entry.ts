// Entry for `npm run schema`: exposes the JSON Schema renderers (event log, JSON contract) to the build script.
import * as JSONSchema from "effect/JSONSchema"
import * as Contract from "../core/contract.ts"

import { openObjects } from "../events/json_schema.ts"

export { render } from "../events/json_schema.ts"

/** The JSON contract's schemas: file name → text. */
export const renderContract = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(Contract.shapes).map(([name, schema]) => [
      `${name}.schema.json`,
      JSON.stringify(openObjects(JSONSchema.make(schema as never)), null, 2) + "\n"
    ])
  )
