// The JSON contract: the checked-in JSON Schemas are what the Effect Schemas generate.

import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as JSONSchema from "effect/JSONSchema"
import * as Contract from "../../core/contract.ts"
import * as JsonSchema from "../../events/json_schema.ts"

describe("cli/schemas", () => {
  it.each(Object.entries(Contract.shapes))(
    "%s.schema.json is what the schema generates (npm run schema)",
    (name, schema) => {
      const file = Path.resolve(import.meta.dirname, `../../cli/schemas/${name}.schema.json`)
      const checkedIn = JSON.parse(Fs.readFileSync(file, "utf8"))
      expect(checkedIn).toEqual(JsonSchema.openObjects(JSONSchema.make(schema as never)))
      expect(JSON.stringify(checkedIn)).not.toContain('"additionalProperties":false')
    }
  )
})
