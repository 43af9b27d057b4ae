// The job's environment file: `export NAME='value'` lines that POSIX sh sources as is and that we parse back.

import * as Shell from "./shell.ts"

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Whether a name can be exported by a POSIX shell. */
export const isValidName = (name: string): boolean => NAME.test(name)

/** The file's text. Names a shell cannot export (and values with NUL) are left out. */
export const render = (env: Readonly<Record<string, string>>): string => {
  let text = ""
  for (const [name, value] of Object.entries(env)) {
    if (!isValidName(name) || value.includes("\0")) continue
    text += `export ${name}=${Shell.quote(value)}\n`
  }
  return text
}

/** Parses what `render` wrote. */
export const parse = (text: string): Record<string, string> => {
  const env: Record<string, string> = {}
  let i = 0
  while (i < text.length) {
    const eq = text.indexOf("=", i)
    if (!text.startsWith("export ", i) || eq < 0) break
    const name = text.slice(i + 7, eq)
    i = eq + 1
    let value = ""
    // a value is a run of '...' pieces joined by \' (an escaped quote), ended by a newline
    while (text[i] === "'" || text.startsWith("\\'", i)) {
      if (text[i] === "'") {
        const close = text.indexOf("'", i + 1)
        if (close < 0) return env
        value += text.slice(i + 1, close)
        i = close + 1
      } else {
        value += "'"
        i += 2
      }
    }
    env[name] = value
    if (text[i] === "\n") i++
  }
  return env
}

/**
 * Parses a user's env file (`--env-file`): `NAME=value` lines, optional `export `, `#` comments, and values in
 * single or double quotes. Returns an error text for the first bad line.
 */
export const parseDotenv = (text: string): Record<string, string> | string => {
  const env: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim()
    if (line === "" || line.startsWith("#")) continue
    const body = line.startsWith("export ") ? line.slice(7).trim() : line
    const eq = body.indexOf("=")
    const name = eq < 0 ? body : body.slice(0, eq).trim()
    if (eq < 0 || !isValidName(name)) return `line ${n + 1} is not NAME=value`
    let value = body.slice(eq + 1).trim()
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]!)) {
      const q = value[0]
      value = value.slice(1, -1)
      if (q === '"') value = value.replace(/\\([\\"nt$])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c))
    }
    env[name] = value
  }
  return env
}
