// A small JSON Schema (2020-12) validator for the subset RunPod's OpenAPI document uses: $ref, type (one or a
// list), enum, const, properties, required, additionalProperties, unevaluatedProperties: false, items, minItems,
// maxItems, minimum, maximum, minLength, pattern, allOf, anyOf, oneOf, not, if/then/else. It returns the
// problems it finds as "path: why" lines (none: valid).

type Schema = Record<string, any> | boolean

export const validator = (document: any) => {
  const resolve = (schema: Schema): Schema => {
    if (typeof schema === "object" && typeof schema.$ref === "string") {
      const path = schema.$ref.replace(/^#\//, "").split("/")
      let node: any = document
      for (const part of path) node = node[part]
      if (node === undefined) throw new Error(`unresolved $ref ${schema.$ref}`)
      return resolve(node)
    }
    return schema
  }

  const typeOf = (value: unknown): string =>
    value === null
      ? "null"
      : Array.isArray(value)
        ? "array"
        : typeof value === "number"
          ? Number.isInteger(value)
            ? "integer"
            : "number"
          : typeof value

  /** The property names a schema evaluates (its own and those of its allOf / if-then branches). */
  const evaluated = (schema: Schema, value: unknown): Set<string> => {
    const names = new Set<string>()
    const s = resolve(schema)
    if (typeof s !== "object") return names
    for (const k of Object.keys(s.properties ?? {})) names.add(k)
    for (const sub of s.allOf ?? []) for (const k of evaluated(sub, value)) names.add(k)
    for (const sub of [...(s.anyOf ?? []), ...(s.oneOf ?? [])])
      if (check(sub, value, "").length === 0) for (const k of evaluated(sub, value)) names.add(k)
    if (s.if !== undefined && check(s.if, value, "").length === 0 && s.then !== undefined)
      for (const k of evaluated(s.then, value)) names.add(k)
    return names
  }

  const check = (schema: Schema, value: unknown, path: string): Array<string> => {
    const s = resolve(schema)
    if (s === true) return []
    if (s === false) return [`${path || "$"}: not allowed`]
    const problems: Array<string> = []
    const at = path || "$"
    if (s.type !== undefined) {
      const types: Array<string> = Array.isArray(s.type) ? s.type : [s.type]
      const actual = typeOf(value)
      if (!types.includes(actual) && !(actual === "integer" && types.includes("number")))
        return [`${at}: expected ${types.join(" or ")}, got ${actual}`]
    }
    if (s.enum !== undefined && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value)))
      problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`)
    if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value))
      problems.push(`${at}: must be ${JSON.stringify(s.const)}`)
    if (typeof value === "string") {
      if (s.minLength !== undefined && value.length < s.minLength) problems.push(`${at}: shorter than ${s.minLength}`)
      if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(value))
        problems.push(`${at}: does not match ${s.pattern}`)
    }
    if (typeof value === "number") {
      if (s.minimum !== undefined && value < s.minimum) problems.push(`${at}: below ${s.minimum}`)
      if (s.maximum !== undefined && value > s.maximum) problems.push(`${at}: above ${s.maximum}`)
    }
    if (Array.isArray(value)) {
      if (s.minItems !== undefined && value.length < s.minItems) problems.push(`${at}: fewer than ${s.minItems} items`)
      if (s.maxItems !== undefined && value.length > s.maxItems) problems.push(`${at}: more than ${s.maxItems} items`)
      if (s.items !== undefined)
        for (const [i, v] of value.entries()) problems.push(...check(s.items, v, `${at}[${i}]`))
    }
    if (typeOf(value) === "object") {
      const obj = value as Record<string, unknown>
      for (const name of s.required ?? []) if (!(name in obj)) problems.push(`${at}: "${name}" is required`)
      for (const [name, sub] of Object.entries<Schema>(s.properties ?? {}))
        if (name in obj) problems.push(...check(sub, obj[name], `${at}.${name}`))
      if (s.additionalProperties !== undefined) {
        for (const name of Object.keys(obj)) {
          if (name in (s.properties ?? {})) continue
          problems.push(...check(s.additionalProperties, obj[name], `${at}.${name}`))
        }
      }
      if (s.unevaluatedProperties === false) {
        const known = evaluated(s, value)
        for (const name of Object.keys(obj)) if (!known.has(name)) problems.push(`${at}: "${name}" is not allowed`)
      }
    }
    for (const sub of s.allOf ?? []) problems.push(...check(sub, value, path))
    if (s.anyOf !== undefined && !s.anyOf.some((sub: Schema) => check(sub, value, path).length === 0))
      problems.push(`${at}: matches none of anyOf`)
    if (s.oneOf !== undefined && s.oneOf.filter((sub: Schema) => check(sub, value, path).length === 0).length !== 1)
      problems.push(`${at}: must match exactly one of oneOf`)
    if (s.not !== undefined && check(s.not, value, path).length === 0) problems.push(`${at}: must not match "not"`)
    if (s.if !== undefined) {
      const branch = check(s.if, value, path).length === 0 ? s.then : s.else
      if (branch !== undefined) problems.push(...check(branch, value, path))
    }
    return problems
  }

  return {
    /** The problems of `value` against the named component schema. */
    validate: (name: string, value: unknown): Array<string> =>
      check({ $ref: `#/components/schemas/${name}` }, value, "")
  }
}
